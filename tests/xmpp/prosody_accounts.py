#!/usr/bin/env python3
"""Writes Prosody 0.12 account files (internal storage) directly.

    prosody_accounts.py DATA_DIR HOST AUTH USER:PASSWORD... [--bench N]

AUTH is how the server stores passwords: `sha256` or `sha1` (the
`internal_hashed` provider with that `password_hash`: SCRAM keys, hex) or
`plain` (`internal_plain`). `--bench N` adds u0..u<N-1> with password
`secret`. Accounts that share a password share one salt, so that thousands
cost one PBKDF2 computation: this is a throw-away test server.

Much faster than `prosodyctl adduser` (one Lua start per account) and than
in-band registration; the files are those that Prosody itself writes
(`DATA_DIR/<host>/accounts/<user>.dat`, a Lua table).
"""
import hashlib
import hmac
import os
import sys
import uuid

ITERATIONS = 4096


def encode(part):
    """Prosody's datamanager path encoding: every non-alphanumeric byte as %xx."""
    return "".join(c if c.isalnum() and c.isascii() else "%%%02x" % ord(c) for c in part)


def lua_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def account_text(auth, password, cache):
    if auth == "plain":
        return "return {\n\t[\"password\"] = %s;\n};\n" % lua_string(password)
    if password not in cache:
        algorithm = {"sha256": "sha256", "sha1": "sha1"}[auth]
        salt = str(uuid.uuid4())
        salted = hashlib.pbkdf2_hmac(algorithm, password.encode(), salt.encode(), ITERATIONS)
        client_key = hmac.new(salted, b"Client Key", algorithm).digest()
        stored_key = hashlib.new(algorithm, client_key).hexdigest()
        server_key = hmac.new(salted, b"Server Key", algorithm).hexdigest()
        cache[password] = ("return {\n\t[\"iteration_count\"] = %d;\n\t[\"salt\"] = %s;\n"
                           "\t[\"server_key\"] = %s;\n\t[\"stored_key\"] = %s;\n};\n" %
                           (ITERATIONS, lua_string(salt), lua_string(server_key),
                            lua_string(stored_key)))
    return cache[password]


def main():
    args = sys.argv[1:]
    bench = 0
    if "--bench" in args:
        at = args.index("--bench")
        bench = int(args[at + 1])
        del args[at:at + 2]
    data_dir, host, auth = args[:3]
    accounts = [item.split(":", 1) for item in args[3:]]
    accounts += [["u%d" % i, "secret"] for i in range(bench)]
    folder = os.path.join(data_dir, encode(host), "accounts")
    os.makedirs(folder, exist_ok=True)
    cache = {}
    for user, password in accounts:
        path = os.path.join(folder, encode(user) + ".dat")
        with open(path + ".tmp", "w") as out:
            out.write(account_text(auth, password, cache))
        os.replace(path + ".tmp", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
