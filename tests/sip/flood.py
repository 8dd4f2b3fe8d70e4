"""A hostile SIP peer on loopback, run as its own process: ``python -m tests.sip.flood``.

It binds UDP ``--host:--port`` (prints the port when ready), waits for the probe's first
request, then sends ``--count`` datagrams that belong to no transaction of the probe's
(responses with other branches and Call-IDs, OPTIONS requests, non-SIP bytes), bounded by
``--seconds``, then answers the probe's request (and its retransmissions) for ``--linger``
seconds. Used to measure the
probe's memory under a flood (tests/sip/test_hostile.py and the issue's closing note).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time


def _stray(i: int, addr: tuple[str, int], kinds: int) -> bytes:
    pad = "x" * 400  # ~700-byte datagrams, like a real answer with a few headers
    if i % kinds == 0:
        return (
            f"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP {addr[0]}:{addr[1]};branch=z9hG4bKflood{i}\r\n"
            f"From: <sip:a@b>;tag=f{i}\r\nTo: <sip:a@b>;tag=t{i}\r\nCall-ID: flood-{i}\r\n"
            f"CSeq: 1 OPTIONS\r\nX-Pad: {pad}\r\nContent-Length: 0\r\n\r\n"
        ).encode()
    if i % kinds == 1:
        return (
            f"OPTIONS sip:{addr[0]}:{addr[1]} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKreq{i}\r\n"
            f"From: <sip:f@x>;tag=q{i}\r\nTo: <sip:t@y>\r\nCall-ID: req-{i}\r\n"
            f"CSeq: {i} OPTIONS\r\nX-Pad: {pad}\r\nContent-Length: 0\r\n\r\n"
        ).encode()
    return b"\x16\x03\x01 not sip at all " + os.urandom(32) + pad.encode()


def _answer(request: bytes) -> bytes:
    lines = request.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]
    wanted = ("via", "from", "to", "call-id", "cseq")
    keep = [ln for ln in lines if ln.split(":", 1)[0].lower() in wanted]
    return ("\r\n".join(["SIP/2.0 200 OK", *keep, "Content-Length: 0"]) + "\r\n\r\n").encode()


def main(argv: list[str] | None = None) -> int:
    """Serve one flood, then exit; prints ``port=N`` then ``sent=N`` on stdout."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.5")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--wait", type=float, default=30.0)
    ap.add_argument("--linger", type=float, default=3.0)
    ap.add_argument("--sip-only", action="store_true", help="no non-SIP datagrams")
    args = ap.parse_args(argv)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    sock.bind((args.host, args.port))
    print(f"port={sock.getsockname()[1]}", flush=True)
    sock.settimeout(args.wait)
    try:
        request, addr = sock.recvfrom(65536)
    except TimeoutError:
        return 1
    sent = 0
    deadline = time.monotonic() + args.seconds
    sock.setblocking(True)
    while sent < args.count and time.monotonic() < deadline:
        try:
            sock.sendto(_stray(sent, addr, 2 if args.sip_only else 3), addr)
        except OSError:  # ECONNREFUSED from an ICMP error: the probe has gone
            break
        sent += 1
    # Answer the probe's request (and its retransmissions) for a while, like a live server.
    call_id = _call_id(request)
    sock.sendto(_answer(request), addr)
    sock.settimeout(0.2)
    end = time.monotonic() + args.linger
    while time.monotonic() < end:
        try:
            data, addr = sock.recvfrom(65536)
        except (TimeoutError, OSError):
            continue
        if _call_id(data) == call_id:
            sock.sendto(_answer(data), addr)
    print(f"sent={sent}", flush=True)
    return 0


def _call_id(data: bytes) -> bytes:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"call-id:"):
            return line.split(b":", 1)[1].strip()
    return b""


if __name__ == "__main__":
    sys.exit(main())
