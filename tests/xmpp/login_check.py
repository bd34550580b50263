#!/usr/bin/env python3
"""Logs in to an XMPP server once (SASL SCRAM, standard library only).

    login_check.py HOST PORT DOMAIN USER PASSWORD [TIMEOUT_S]

Used by xmpp_server to wait until a fresh server accepts logins. Plain TCP,
no STARTTLS: the test servers allow SCRAM without TLS on loopback. Exit code:
0 logged in, 1 refused, 2 could not talk to the server (closed, timed out,
unexpected answer).
"""
import base64
import hashlib
import hmac
import os
import re
import socket
import sys
import time

HASHES = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-1": "sha1"}


class Stream:
    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buffer = b""

    def send(self, text):
        self.sock.sendall(text.encode())

    def read_until(self, pattern):
        """Reads until `pattern` (a regex on the whole buffer) matches."""
        while True:
            match = re.search(pattern, self.buffer, re.S)
            if match:
                self.buffer = self.buffer[match.end():]
                return match
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            self.buffer += chunk


def scram(stream, mechanism, user, password):
    algorithm = HASHES[mechanism]
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = "n=%s,r=%s" % (user, nonce)
    stream.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='%s'>%s</auth>" %
                (mechanism, base64.b64encode(("n,," + first_bare).encode()).decode()))
    match = stream.read_until(rb"<(challenge|failure)[^>]*?(/>|>(.*?)</\1>)")
    if match.group(1) == b"failure":
        return False
    server_first = base64.b64decode(match.group(3)).decode()
    fields = dict(item.split("=", 1) for item in server_first.split(","))
    if not fields["r"].startswith(nonce):
        raise ConnectionError("bad server nonce")
    salted = hashlib.pbkdf2_hmac(algorithm, password.encode(), base64.b64decode(fields["s"]),
                                 int(fields["i"]))
    client_key = hmac.new(salted, b"Client Key", algorithm).digest()
    stored_key = hashlib.new(algorithm, client_key).digest()
    final_bare = "c=biws,r=" + fields["r"]
    message = ",".join([first_bare, server_first, final_bare]).encode()
    signature = hmac.new(stored_key, message, algorithm).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    final = final_bare + ",p=" + base64.b64encode(proof).decode()
    stream.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s</response>" %
                base64.b64encode(final.encode()).decode())
    match = stream.read_until(rb"<(success|failure|challenge)[^>]*?(/>|>.*?</\1>)")
    return match.group(1) == b"success"


def main():
    host, port, domain, user, password = sys.argv[1:6]
    timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 5.0
    deadline = time.monotonic() + timeout
    try:
        stream = Stream(host, int(port), max(0.5, deadline - time.monotonic()))
        stream.send("<?xml version='1.0'?><stream:stream to='%s' version='1.0' "
                    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" %
                    domain)
        features = stream.read_until(rb"<stream:features.*?</stream:features>").group(0)
        offered = re.findall(rb"<mechanism>([^<]+)</mechanism>", features)
        for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
            if mechanism.encode() in offered:
                ok = scram(stream, mechanism, user, password)
                stream.send("</stream:stream>")
                return 0 if ok else 1
        print("no SCRAM mechanism offered: %r" % offered, file=sys.stderr)
        return 2
    except (OSError, ConnectionError, ValueError, KeyError) as error:
        print("login_check: %s" % error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
