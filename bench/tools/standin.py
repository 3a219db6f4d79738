#!/usr/bin/env python3
"""A stand-in HTTPS apiserver for bench/failover.sh (until `kha standin` is on main).

    standin.py --port P --name NAME --cert C --key K [--max-seconds S]

Serves over TLS on 127.0.0.1:P: /version (JSON naming this backend),
/healthz and /livez (200 "ok"), /readyz (200 "ok", or 500 after SIGUSR1,
back to 200 after SIGUSR2), /watch (a chunked stream: one JSON line a
second, for up to --max-seconds). Every answer carries X-Backend: NAME.
A hang is made from outside with SIGSTOP (the kernel still completes TCP
handshakes), a kill with SIGKILL. Exits by itself after --max-seconds.
"""

import argparse
import asyncio
import json
import signal
import ssl


class Standin:
    def __init__(self, name, max_seconds):
        self.name = name
        self.ready = True
        self.max_seconds = max_seconds

    def head(self, status, length=None, chunked=False, close=True):
        reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}[status]
        lines = [f"HTTP/1.1 {status} {reason}", f"X-Backend: {self.name}",
                 "Content-Type: application/json" if status == 200 else "Content-Type: text/plain"]
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        else:
            lines.append(f"Content-Length: {length}")
        if close:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def handle(self, reader, writer):
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            path = request.split(b" ", 2)[1].decode(errors="replace")
            if path.startswith("/watch"):
                writer.write(self.head(200, chunked=True, close=False))
                for n in range(int(self.max_seconds)):
                    line = json.dumps({"backend": self.name, "n": n}).encode() + b"\n"
                    writer.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                    await writer.drain()
                    await asyncio.sleep(1)
                writer.write(b"0\r\n\r\n")
            else:
                if path == "/version":
                    status, body = 200, json.dumps({"backend": self.name,
                                                    "gitVersion": "v0.0.0-standin"}).encode()
                elif path in ("/healthz", "/livez"):
                    status, body = 200, b"ok"
                elif path == "/readyz":
                    status, body = (200, b"ok") if self.ready else (500, b"readyz check failed")
                else:
                    status, body = 404, b"not found"
                writer.write(self.head(status, len(body)) + body)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                asyncio.TimeoutError, ssl.SSLError, IndexError):
            pass
        finally:
            writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--max-seconds", type=float, default=600)
    args = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    standin = Standin(args.name, args.max_seconds)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, lambda: setattr(standin, "ready", False))
    loop.add_signal_handler(signal.SIGUSR2, lambda: setattr(standin, "ready", True))
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    server = await asyncio.start_server(standin.handle, "127.0.0.1", args.port, ssl=ctx,
                                        backlog=1024, ssl_handshake_timeout=10)
    async with server:
        try:
            await asyncio.wait_for(stop.wait(), args.max_seconds)
        except asyncio.TimeoutError:
            pass


if __name__ == "__main__":
    asyncio.run(main())
