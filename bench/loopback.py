"""Loopback HTTP servers for the benchmarks, in a child process of their own (so that
their CPU is not the measured event loop's): ``python bench/loopback.py N [DELAY_S]``
listens on N ports, prints them as one JSON line and answers every request with
``{"status": "ok"}`` (after DELAY_S) until its standard input closes."""

from __future__ import annotations

import asyncio
import json
import sys

BODY = b'{"status": "ok"}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(BODY)).encode()
    + b"\r\n\r\n"
    + BODY
)


class Answer(asyncio.Protocol):
    """HTTP/1.1 keep-alive, one response per request head (GETs have no body)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            _, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            if self.delay:
                asyncio.get_running_loop().call_later(self.delay, self._send)
            else:
                self._send()

    def _send(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(RESPONSE)


async def main(count: int, delay: float) -> None:
    loop = asyncio.get_running_loop()
    servers = [
        await loop.create_server(lambda: Answer(delay), "127.0.0.1", 0, backlog=4096)
        for _ in range(count)
    ]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    print(json.dumps(ports), flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent goes


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 0.0))
