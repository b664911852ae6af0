#!/usr/bin/env python3
"""A loopback HTTP/1.1 proxy that breaks S3 requests on purpose (tests only).

    faultproxy.py --upstream 127.0.0.1:7480 --seed 7 --rate 0.2 \
        --port-file P --log faults.ndjson [--stall 4] [--kinds reset-before,...]
        [--down-after N --down-for SECONDS] [--strip TEXT] [--max-faults N]
        [--mix 503=0.15,reset-before=0.04,reset-mid-response=0.04,truncate=0.05,stall=0.03]

It listens on 127.0.0.1 (an ephemeral port, written to --port-file once it
listens) and forwards every request to --upstream on a connection of its own.
For each request it decides, from the seed alone, whether to break it and how:

  reset-before        close the client's connection with a RST, nothing forwarded
  reset-mid-request   forward the head and part of the body, then RST both sides
                      (a request without a body reaches the server: its answer is lost)
  reset-mid-response  forward the request, send part of the answer, then RST
  truncate            forward the request, send part of the answer, then a clean close
  stall               read the request, answer nothing for --stall seconds, then RST
  500 / 503 / slowdown  answer HTTP 500 InternalError, 503 ServiceUnavailable or
                      503 SlowDown (S3 error XML) without forwarding
  corrupt             forward the request with one byte of its body flipped
                      (requests without a body pass unharmed); not in the
                      default --kinds

The decision is a hash of (seed, method, path without --strip, the query
without upload ids and tokens, how many times that request was seen), so it
does not depend on how concurrent connections interleave: the same seed
breaks the same requests. --down-after N closes the listening socket after
the N-th request (and resets every open connection) for --down-for seconds,
then listens again on the same port: "the server went away and came back".

With --tls-cert/--tls-key it speaks https to its clients (a TLS front for
the plain-http server, for certificate checks).

Every fault is one JSON line in --log: {"n", "fault", "method", "path"}.
Python 3 standard library only.
"""
import argparse
import hashlib
import json
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import time
from urllib.parse import parse_qsl, urlsplit

KINDS = ["reset-before", "reset-mid-request", "reset-mid-response", "truncate",
         "stall", "500", "503", "slowdown", "corrupt"]
# Query parameters whose values differ from run to run (server-made ids).
VOLATILE = {"uploadId", "continuation-token", "upload-id-marker", "key-marker",
            "x-id"}
MAX_HEAD = 64 * 1024


class Proxy:
    def __init__(self, args):
        self.args = args
        host, _, port = args.upstream.rpartition(":")
        self.upstream = (host or "127.0.0.1", int(port))
        self.kinds = [k for k in args.kinds.split(",") if k]
        for k in self.kinds:
            if k not in KINDS:
                sys.exit(f"faultproxy: unknown fault kind '{k}' (known: {', '.join(KINDS)})")
        self.mix = []
        for item in (args.mix or "").split(","):
            if not item:
                continue
            k, _, rate = item.partition("=")
            if k not in KINDS:
                sys.exit(f"faultproxy: unknown fault kind '{k}' in --mix")
            self.mix.append((k, float(rate)))
        self.lock = threading.Lock()
        self.seen = {}          # request identity -> times seen
        self.requests = 0
        self.faults = 0
        self.conns = set()
        self.log = open(args.log, "a", buffering=1) if args.log else None
        self.listener = None
        self.port = args.port
        self.down_done = False
        self.tls = None
        if args.tls_cert:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(args.tls_cert, args.tls_key)

    # --- decisions ---------------------------------------------------------------
    def identity(self, method, target):
        u = urlsplit(target)
        q = sorted((k, "" if k in VOLATILE else v)
                   for k, v in parse_qsl(u.query, keep_blank_values=True))
        ident = f"{method} {u.path}?{q}"
        if self.args.strip:  # a run-unique prefix: in paths and in prefix= alike
            ident = ident.replace(self.args.strip, "")
        return ident

    def decide(self, method, target):
        ident = self.identity(method, target)
        with self.lock:
            self.requests += 1
            n = self.requests
            count = self.seen.get(ident, 0)
            self.seen[ident] = count + 1
        h = hashlib.sha256(f"{self.args.seed}|{ident}|{count}".encode()).digest()
        u = int.from_bytes(h[0:8], "big") / 2.0**64
        frac = int.from_bytes(h[8:16], "big") / 2.0**64
        kind = None
        if self.mix:
            # --mix: each kind has its own chance (the fleet profile).
            acc = 0.0
            for k, rate in self.mix:
                acc += rate
                if u < acc:
                    with self.lock:
                        if self.args.max_faults < 0 or self.faults < self.args.max_faults:
                            self.faults += 1
                            kind = k
                    break
        elif self.kinds and u < self.args.rate:
            with self.lock:
                if self.args.max_faults < 0 or self.faults < self.args.max_faults:
                    self.faults += 1
                    kind = self.kinds[int.from_bytes(h[16:24], "big") % len(self.kinds)]
        return n, kind, frac

    def note(self, n, kind, method, target):
        if self.log:
            path = urlsplit(target).path
            with self.lock:
                self.log.write(json.dumps({"n": n, "fault": kind, "method": method,
                                           "path": path}) + "\n")

    # --- sockets -----------------------------------------------------------------
    @staticmethod
    def rst(sock):
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass

    @staticmethod
    def read_head(sock, buf):
        """(head bytes, rest) or (None, buf) at EOF."""
        while b"\r\n\r\n" not in buf:
            if len(buf) > MAX_HEAD:
                raise OSError("head too large")
            chunk = sock.recv(65536)
            if not chunk:
                return None, buf
            buf += chunk
        i = buf.index(b"\r\n\r\n") + 4
        return buf[:i], buf[i:]

    @staticmethod
    def parse_head(head):
        lines = head.decode("latin-1").split("\r\n")
        first = lines[0]
        headers = []
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        return first, headers

    @staticmethod
    def header(headers, name):
        for k, v in headers:
            if k.lower() == name:
                return v
        return None

    def error_answer(self, kind, method):
        status, reason, code, msg = {
            "500": (500, "Internal Server Error", "InternalError",
                    "We encountered an internal error. Please try again."),
            "503": (503, "Service Unavailable", "ServiceUnavailable",
                    "The service is unavailable. Please try again."),
            "slowdown": (503, "Slow Down", "SlowDown", "Please reduce your request rate."),
        }[kind]
        body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                f"<Message>{msg}</Message><RequestId>faultproxy</RequestId></Error>").encode()
        if method == "HEAD":
            body = b""
        head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\n"
                f"Content-Length: {len(body)}\r\nx-amz-error-code: {code}\r\n"
                f"Connection: close\r\n\r\n").encode()
        return head + body

    def drain(self, sock, buf, n):
        """Reads n body bytes (buf first); returns what is left of buf after them."""
        take = min(n, len(buf))
        n -= take
        buf = buf[take:]
        while n > 0:
            chunk = sock.recv(min(n, 1 << 20))
            if not chunk:
                raise OSError("client closed mid-body")
            n -= len(chunk)
        return buf

    def forward_body(self, client, up, buf, n, limit=None, flip=None):
        """Copies n body bytes client -> upstream (stops after `limit` bytes;
        the byte at offset `flip` is inverted)."""
        sent = 0
        stop = n if limit is None else min(n, limit)

        def send(data):
            if flip is not None and sent <= flip < sent + len(data):
                data = bytearray(data)
                data[flip - sent] ^= 0xFF
            up.sendall(data)

        take = min(stop, len(buf))
        if take:
            send(buf[:take])
            sent += take
        rest = buf[min(n, len(buf)):]
        while sent < stop:
            chunk = client.recv(min(stop - sent, 1 << 20))
            if not chunk:
                raise OSError("client closed mid-body")
            send(chunk)
            sent += len(chunk)
        return rest

    def handle(self, client):
        if self.tls:
            try:
                client = self.tls.wrap_socket(client, server_side=True)
            except OSError as e:  # the client refused our certificate
                if self.log:
                    with self.lock:
                        self.log.write(json.dumps({"tls": str(e)}) + "\n")
                try:
                    client.close()
                except OSError:
                    pass
                return
        with self.lock:
            self.conns.add(client)
        buf = b""
        try:
            while True:
                head, buf = self.read_head(client, buf)
                if head is None:
                    return
                first, headers = self.parse_head(head)
                parts = first.split(" ")
                if len(parts) != 3:
                    return
                method, target, _ = parts
                if self.header(headers, "transfer-encoding"):
                    # curl sends sized bodies; anything else is not ours to judge.
                    sys.stderr.write("faultproxy: chunked request bodies are not supported\n")
                    return
                clen = int(self.header(headers, "content-length") or 0)
                expect = (self.header(headers, "expect") or "").lower() == "100-continue"
                n, kind, frac = self.decide(method, target)
                if self.args.down_after and n == self.args.down_after and not self.down_done:
                    self.down_done = True
                    self.note(n, "down", method, target)
                    threading.Thread(target=self.go_down, daemon=True).start()
                    return
                if kind:
                    self.note(n, kind, method, target)
                if kind == "reset-before":
                    return self.rst(client)
                if kind in ("500", "503", "slowdown"):
                    if not expect:
                        buf = self.drain(client, buf, clen)
                    client.sendall(self.error_answer(kind, method))
                    client.shutdown(socket.SHUT_WR)
                    return
                if kind == "stall":
                    time.sleep(self.args.stall)
                    return self.rst(client)
                if not self.exchange(client, head, headers, buf, clen, expect, kind, frac):
                    return
                buf = b""  # one request at a time (curl does not pipeline)
        except OSError:
            pass
        finally:
            with self.lock:
                self.conns.discard(client)
            try:
                client.close()
            except OSError:
                pass

    def exchange(self, client, head, headers, buf, clen, expect, kind, frac):
        """Forwards one request and its answer; False when the connection is done."""
        first = head.split(b"\r\n", 1)[0].decode("latin-1")
        out = [first]
        for k, v in headers:
            if k.lower() in ("connection", "expect", "keep-alive"):
                continue
            out.append(f"{k}: {v}")
        out.append("Connection: close")
        up = socket.create_connection(self.upstream, timeout=120)
        try:
            up.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
            if expect:
                client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            if kind == "reset-mid-request" and clen > 0:
                self.forward_body(client, up, buf, clen, limit=int(clen * frac))
                self.rst(up)
                self.rst(client)
                return False
            flip = int(clen * frac) if kind == "corrupt" and clen > 0 else None
            self.forward_body(client, up, buf, clen, flip=flip)
            rhead, rbuf = self.read_head(up, b"")
            if rhead is None:
                self.rst(client)
                return False
            if kind == "reset-mid-request":  # no body: the server acted, the answer is lost
                self.rst(client)
                return False
            rfirst, rheaders = self.parse_head(rhead)
            status = int(rfirst.split(" ")[1])
            method = first.split(" ")[0]
            if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
                blen = 0
            else:
                cl = self.header(rheaders, "content-length")
                blen = int(cl) if cl is not None else None  # None: until EOF
            if kind in ("truncate", "reset-mid-response"):
                if blen:
                    cut = len(rhead) + int(blen * frac)
                else:
                    cut = int(len(rhead) * frac)
                self.relay(up, client, rhead + rbuf, cut)
                if kind == "truncate":
                    client.shutdown(socket.SHUT_WR)
                    client.close()
                else:
                    self.rst(client)
                return False
            total = None if blen is None else len(rhead) + blen
            self.relay(up, client, rhead + rbuf, total)
            close = (self.header(rheaders, "connection") or "").lower() == "close"
            return blen is not None and not close
        finally:
            try:
                up.close()
            except OSError:
                pass

    @staticmethod
    def relay(up, client, first, limit):
        """Sends `first` then upstream bytes to the client, `limit` bytes in all (None: to EOF)."""
        sent = 0
        data = first
        while True:
            if limit is not None and sent + len(data) > limit:
                data = data[:limit - sent]
            if data:
                client.sendall(data)
                sent += len(data)
            if limit is not None and sent >= limit:
                return
            data = up.recv(1 << 20)
            if not data:
                return

    # --- listening, going down -----------------------------------------------------
    def listen(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self.port = s.getsockname()[1]
        self.listener = s

    def go_down(self):
        with self.lock:
            s, self.listener = self.listener, None
            conns = list(self.conns)
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
        for c in conns:
            self.rst(c)
        time.sleep(self.args.down_for)
        self.listen()

    def serve(self):
        self.listen()
        if self.args.port_file:
            tmp = self.args.port_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(f"{self.port}\n")
            os.replace(tmp, self.args.port_file)
        while True:
            s = self.listener
            if s is None:
                time.sleep(0.05)
                continue
            try:
                client, _ = s.accept()
            except OSError:
                time.sleep(0.05)  # closed while going down
                continue
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self.handle, args=(client,), daemon=True).start()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--upstream", required=True, help="host:port of the real server")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rate", type=float, default=0.0, help="chance a request is broken")
    p.add_argument("--kinds", default=",".join(k for k in KINDS if k != "corrupt"))
    p.add_argument("--mix", default="", help="KIND=CHANCE,...: a chance per kind (instead of --rate/--kinds)")
    p.add_argument("--stall", type=float, default=4.0, help="seconds a stalled request hangs")
    p.add_argument("--strip", default="", help="text removed from requests before hashing")
    p.add_argument("--max-faults", type=int, default=-1)
    p.add_argument("--down-after", type=int, default=0)
    p.add_argument("--down-for", type=float, default=2.0)
    p.add_argument("--log")
    p.add_argument("--tls-cert", help="PEM certificate: serve https")
    p.add_argument("--tls-key", help="PEM private key of --tls-cert")
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    Proxy(args).serve()


if __name__ == "__main__":
    main()
