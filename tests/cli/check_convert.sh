#!/bin/sh
# Runs one mimrest-convert scenario and checks its stdout, stderr and exit code.
# Usage: check_convert.sh <mimrest-convert binary> <data dir> <case>
set -u

bin=$1
data=$2
case_name=$3

work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
out="$work/out"
err="$work/err"
expected="$work/expected"

fail() {
  echo "FAIL [$case_name]: $*"
  echo "--- stdout:"; cat "$out"
  echo "--- stderr:"; cat "$err"
  exit 1
}

# run <stdin file> <args...>: runs the binary, sets $code.
run() {
  input=$1
  shift
  "$bin" "$@" <"$input" >"$out" 2>"$err"
  code=$?
}

expect_code() {
  [ "$code" -eq "$1" ] || fail "exit code $code, expected $1"
}

expect_stdout() {
  printf '%s\n' "$@" >"$expected"
  cmp -s "$out" "$expected" || fail "stdout differs from: $(cat "$expected")"
}

expect_no_stdout() {
  [ ! -s "$out" ] || fail "stdout should be empty"
}

expect_no_stderr() {
  [ ! -s "$err" ] || fail "stderr should be empty"
}

expect_stderr() {
  [ -s "$err" ] || fail "stderr should explain the error"
  if [ $# -gt 0 ]; then
    grep -q -- "$1" "$err" || fail "stderr should mention '$1'"
  fi
}

# An error case: exit code 2, nothing on stdout, a message on stderr.
expect_error() {
  expect_code 2
  expect_no_stdout
  expect_stderr "$@"
}

chat_json='{"from":"bob@localhost","to":"alice@localhost","id":"123","body":"Hi!","timestamp":1531329049949}'
room_json='{"id":"9746c6d5","from":"alice@localhost","timestamp":1483609513435964,"type":"message","body":"Hi all!"}'
room_sse_json='{"id":"9746c6d5","from":"alice@localhost","timestamp":1483609513435964,"room":"1483-609513-293487","type":"message","body":"Hi all!"}'

case "$case_name" in
  stdin)
    run "$data/chat.xml" --timestamp 1531329049949
    expect_code 0; expect_no_stderr; expect_stdout "$chat_json" ;;
  stdin_dash)
    run "$data/chat.xml" --timestamp=1531329049949 -
    expect_code 0; expect_no_stderr; expect_stdout "$chat_json" ;;
  file_room)
    run /dev/null --timestamp 1483609513435964 "$data/room.xml"
    expect_code 0; expect_no_stderr; expect_stdout "$room_json" ;;
  sse_room)
    run /dev/null --sse --timestamp 1483609513435964 "$data/room.xml"
    expect_code 0; expect_no_stderr; expect_stdout "$room_sse_json" ;;
  sse_chat_unchanged)
    run /dev/null --timestamp 1531329049949 --sse "$data/chat.xml"
    expect_code 0; expect_no_stderr; expect_stdout "$chat_json" ;;
  several_files)
    run /dev/null --timestamp 1483609513435964 "$data/room.xml" "$data/chat.xml" "$data/room.xml"
    expect_code 0; expect_no_stderr
    expect_stdout "$room_json" \
      '{"from":"bob@localhost","to":"alice@localhost","id":"123","body":"Hi!","timestamp":1483609513435964}' \
      "$room_json" ;;
  negative_timestamp)
    run "$data/chat.xml" --timestamp -7
    expect_code 0; expect_no_stderr
    expect_stdout '{"from":"bob@localhost","to":"alice@localhost","id":"123","body":"Hi!","timestamp":-7}' ;;
  default_timestamp)
    before=$(date +%s)000
    run "$data/chat.xml"
    after=$(( $(date +%s) + 1 ))000
    expect_code 0; expect_no_stderr
    ts=$(sed -n 's/.*"timestamp":\([0-9]*\)}$/\1/p' "$out")
    [ -n "$ts" ] || fail "no timestamp"
    [ "$ts" -ge "$before" ] && [ "$ts" -le "$after" ] || fail "timestamp $ts is not now in ms" ;;
  help)
    run /dev/null --help
    expect_code 0; expect_no_stderr
    grep -q '^Usage: mimrest-convert \[--timestamp N\] \[--sse\] \[FILE \.\.\.\]' "$out" ||
      fail "no usage line" ;;
  not_well_formed)
    run "$data/not_well_formed.xml" --timestamp 1
    expect_error "well-formed" ;;
  empty_input)
    run /dev/null --timestamp 1
    expect_error "well-formed" ;;
  not_a_message)
    run /dev/null --timestamp 1 "$data/not_message.xml"
    expect_error "not_message.xml" ;;
  doctype)
    run /dev/null --timestamp 1 "$data/doctype.xml"
    expect_error "DOCTYPE" ;;
  missing_file)
    run /dev/null --timestamp 1 "$data/does-not-exist.xml"
    expect_error "does-not-exist.xml" ;;
  directory)
    run /dev/null --timestamp 1 "$data"
    expect_error ;;
  unknown_option)
    run "$data/chat.xml" --frobnicate
    expect_error "frobnicate" ;;
  timestamp_not_integer)
    run "$data/chat.xml" --timestamp 12ms
    expect_error "integer" ;;
  timestamp_overflow)
    run "$data/chat.xml" --timestamp 99999999999999999999
    expect_error "integer" ;;
  timestamp_missing)
    run "$data/chat.xml" --timestamp
    expect_error "timestamp" ;;
  partial_failure)
    run /dev/null --timestamp 1531329049949 "$data/chat.xml" "$data/missing.xml" \
      "$data/not_message.xml" "$data/chat.xml"
    expect_code 2
    expect_stdout "$chat_json" "$chat_json"
    expect_stderr "missing.xml"
    grep -q "not_message.xml" "$err" || fail "stderr should name not_message.xml" ;;
  *)
    echo "unknown case $case_name"; exit 1 ;;
esac
echo "ok [$case_name]"
