"""A shaped link: a small asyncio TCP proxy imposing RTT, up/down bandwidth and cuts.

Run: `.venv/bin/python -m bench.shaped_link --target 8000 --rtt-ms 300 --up-mbit 1
--down-mbit 2 [--cut-every-mb 4] [--port P]`; it prints `listening <port>` once ready and,
on SIGTERM or SIGINT, one JSON line of what passed (connections, cuts, bytes each way).
`--validate` instead measures what it delivers (RTT, uplink and downlink rate) against a
loopback echo server and prints that as JSON.

How it shapes, per direction (uplink: client → server, downlink: server → client):

- bandwidth: one pipe shared by every connection, as a mobile link is. Each connection
  reads at most 4 KiB from its source, reserves the pipe for that many bytes (the next free
  slot after everyone else's reservations, so connections interleave fairly) and reads
  again only once its bytes have left: a sender is held back as by a real bottleneck. The
  proxy's sockets get small buffers so the kernel cannot hide megabytes in between;
- delay: each piece is delivered RTT/2 after it left the pipe, in order; a new connection
  first waits one RTT (the TCP handshake) before its bytes start to flow;
- cuts: every ~N bytes (both directions counted, each interval drawn between 0.75 N and
  1.25 N from a fixed seed) every open connection is reset at once (RST to both ends, as
  when a phone loses the cell), bytes still in the pipe lost. New connections work at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass, field

PIECE = 16 * 1024
SOCKET_BUFFER = 64 * 1024


@dataclass
class Profile:
    """A link: round-trip time, bandwidth each way, and cuts every ~N bytes (None: none)."""

    name: str
    rtt_s: float
    up_bps: float
    down_bps: float
    cut_every: int | None = None

    def args(self) -> list[str]:
        args = [
            "--rtt-ms",
            f"{self.rtt_s * 1000:g}",
            "--up-mbit",
            f"{self.up_bps / 1e6:g}",
            "--down-mbit",
            f"{self.down_bps / 1e6:g}",
        ]
        if self.cut_every:
            args += ["--cut-every-mb", f"{self.cut_every / 1e6:g}"]
        return args


class Pipe:
    """One direction of the link: a serialising bottleneck of `bps` plus a fixed delay."""

    def __init__(self, bps: float, delay_s: float) -> None:
        self.bps, self.delay = bps, delay_s
        self.free_at = 0.0

    def reserve(self, size: int, now: float) -> float:
        """When a piece of `size` bytes, queued now, has left the bottleneck."""
        self.free_at = max(now, self.free_at) + size * 8 / self.bps
        return self.free_at


@dataclass
class Stats:
    connections: int = 0
    cuts: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    cut_at: list[int] = field(default_factory=list)


class Link:
    """The proxy: accepts on `port`, forwards to `target_port`, shaped as configured."""

    def __init__(
        self,
        target_port: int,
        rtt_s: float,
        up_bps: float,
        down_bps: float,
        cut_every: int | None = None,
        seed: int = 1,
    ) -> None:
        self.target_port = target_port
        self.rtt = rtt_s
        self.up, self.down = Pipe(up_bps, rtt_s / 2), Pipe(down_bps, rtt_s / 2)
        self.cut_every = cut_every
        self.rng = random.Random(seed)
        self.stats = Stats()
        self.passed = 0
        self.next_cut = self._draw() if cut_every else None
        self.open: set[Connection] = set()

    def _draw(self) -> int:
        assert self.cut_every
        return self.passed + int(self.cut_every * self.rng.uniform(0.75, 1.25))

    def count(self, size: int, upward: bool) -> None:
        """Bytes that entered the link; every ~N of them, the link drops."""
        if upward:
            self.stats.bytes_up += size
        else:
            self.stats.bytes_down += size
        self.passed += size
        if self.next_cut is not None and self.passed >= self.next_cut:
            self.stats.cuts += 1
            self.stats.cut_at.append(self.passed)
            self.next_cut = self._draw()
            for connection in list(self.open):
                connection.reset()

    async def serve(self, port: int = 0) -> asyncio.Server:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
        listener.bind(("127.0.0.1", port))
        return await asyncio.start_server(self._accept, sock=listener, limit=PIECE)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        connection = Connection(self, reader, writer)
        self.open.add(connection)
        try:
            await connection.run()
        except asyncio.CancelledError:
            connection.reset()
        finally:
            self.open.discard(connection)


def _small_buffers(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
    writer.transport.set_write_buffer_limits(high=PIECE * 4)


class Connection:
    """One client connection and its upstream one, pumped both ways through the link."""

    def __init__(
        self, link: Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.link = link
        self.client = (reader, writer)
        self.upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.dead = False

    async def run(self) -> None:
        _small_buffers(self.client[1])
        await asyncio.sleep(self.link.rtt)  # the handshake
        if self.dead:
            return
        try:
            self.upstream = await asyncio.open_connection(
                "127.0.0.1", self.link.target_port, limit=PIECE
            )
        except OSError:
            self.reset()
            return
        _small_buffers(self.upstream[1])
        self.tasks = [
            asyncio.create_task(self._pump(self.client[0], self.upstream[1], self.link.up, True)),
            asyncio.create_task(
                self._pump(self.upstream[0], self.client[1], self.link.down, False)
            ),
        ]
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self._close()

    async def _pump(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        pipe: Pipe,
        upward: bool,
    ) -> None:
        loop = asyncio.get_running_loop()
        pending: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()

        async def deliver() -> None:
            while (item := await pending.get()) is not None:
                at, data = item
                await asyncio.sleep(max(0.0, at - loop.time()))
                if self.dead:
                    return
                sink.write(data)
                await sink.drain()
            if sink.can_write_eof():
                sink.write_eof()

        delivering = asyncio.create_task(deliver())
        before = 0.0  # when the previous piece leaves the pipe
        try:
            while data := await source.read(PIECE):
                left = pipe.reserve(len(data), loop.time())
                self.link.count(len(data), upward)
                if self.dead:
                    return
                pending.put_nowait((left + pipe.delay, data))
                # One piece waits in the pipe while the next is read, so the pipe never
                # idles between pieces for the time a read and a wake-up take.
                await asyncio.sleep(max(0.0, before - loop.time()))
                before = left
            pending.put_nowait(None)
            await delivering
        except (OSError, asyncio.IncompleteReadError):
            self.reset()
        finally:
            if self.dead:
                delivering.cancel()

    def reset(self) -> None:
        """Drop both ends with an RST, as a lost cell does; nothing in flight arrives."""
        if self.dead:
            return
        self.dead = True
        for pair in (self.client, self.upstream):
            if pair is None:
                continue
            writer = pair[1]
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        for task in self.tasks:
            task.cancel()

    def _close(self) -> None:
        for pair in (self.client, self.upstream):
            if pair is not None:
                pair[1].transport.close()


# ---- validation: what the link delivers, measured against a loopback echo server


async def _echo_server() -> asyncio.Server:
    """`u<n>\\n` then n bytes: answers `k` once all n arrived; `d<n>\\n`: sends n bytes;
    `p\\n`: answers `p` at once (a ping)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.CancelledError, OSError, asyncio.IncompleteReadError):
            await answer(reader, writer)
        writer.close()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            kind, size = line[:1], int(line[1:].strip() or 0)
            if kind == b"u":
                await reader.readexactly(size)
                writer.write(b"k")
            elif kind == b"d":
                writer.write(b"x" * size)
            else:
                writer.write(b"p")
            await writer.drain()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def validate(profile: Profile, seconds: float = 3.0) -> dict[str, float]:
    """Measure RTT (median of pings on an open connection), uplink and downlink rate
    (bytes for ~`seconds` at the configured rate, the RTT taken off)."""
    echo = await _echo_server()
    target = echo.sockets[0].getsockname()[1]
    link = Link(target, profile.rtt_s, profile.up_bps, profile.down_bps)
    proxy = await link.serve()
    port = proxy.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    loop = asyncio.get_running_loop()
    began = loop.time()
    writer.write(b"p\n")
    await writer.drain()
    await reader.readexactly(1)
    first = loop.time() - began  # handshake + one round trip
    pings = []
    for _ in range(5):
        began = loop.time()
        writer.write(b"p\n")
        await writer.drain()
        await reader.readexactly(1)
        pings.append(loop.time() - began)
    rtt = sorted(pings)[len(pings) // 2]
    up_bytes = int(profile.up_bps / 8 * seconds)
    began = loop.time()
    writer.write(f"u{up_bytes}\n".encode() + b"x" * up_bytes)
    await writer.drain()
    await reader.readexactly(1)
    up_s = loop.time() - began
    down_bytes = int(profile.down_bps / 8 * seconds)
    began = loop.time()
    writer.write(f"d{down_bytes}\n".encode())
    await writer.drain()
    await reader.readexactly(down_bytes)
    down_s = loop.time() - began
    writer.close()
    proxy.close()
    echo.close()
    return {
        "rtt_ms_configured": profile.rtt_s * 1000,
        "rtt_ms_measured": rtt * 1000,
        "first_exchange_ms": first * 1000,
        "up_mbit_configured": profile.up_bps / 1e6,
        "up_mbit_measured": up_bytes * 8 / max(up_s - rtt, 1e-9) / 1e6,
        "down_mbit_configured": profile.down_bps / 1e6,
        "down_mbit_measured": down_bytes * 8 / max(down_s - rtt, 1e-9) / 1e6,
    }


# ---- run as a process


async def _serve_until_stopped(link: Link, port: int) -> None:
    server = await link.serve(port)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()
    for connection in list(link.open):
        connection.reset()
    stats = link.stats
    print(
        json.dumps(
            {
                "connections": stats.connections,
                "cuts": stats.cuts,
                "bytes_up": stats.bytes_up,
                "bytes_down": stats.bytes_down,
                "cut_at": stats.cut_at,
                "at": time.time(),
            }
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=int, default=0, help="the server's loopback port")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rtt-ms", type=float, required=True)
    parser.add_argument("--up-mbit", type=float, required=True)
    parser.add_argument("--down-mbit", type=float, required=True)
    parser.add_argument("--cut-every-mb", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--validate", action="store_true")
    args = parser.parse_args()
    profile = Profile(
        "cli",
        args.rtt_ms / 1000,
        args.up_mbit * 1e6,
        args.down_mbit * 1e6,
        int(args.cut_every_mb * 1e6) or None,
    )
    if args.validate:
        print(json.dumps(asyncio.run(validate(profile))))
        return
    if not args.target:
        sys.exit("--target PORT is needed (or --validate)")
    link = Link(
        args.target,
        profile.rtt_s,
        profile.up_bps,
        profile.down_bps,
        profile.cut_every,
        args.seed,
    )
    asyncio.run(_serve_until_stopped(link, args.port))


if __name__ == "__main__":
    main()
