"""A loopback TCP proxy that cuts every connection after a random number of bytes.

It stands for the field's network: each connection carries a random budget of bytes (both
directions together) and is then reset mid-stream, wherever that falls — in a request line,
a header, a photo chunk or a response.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading


class CuttingProxy:
    def __init__(self, target_port: int, low: int, high: int, seed: int = 1) -> None:
        self.target = ("127.0.0.1", target_port)
        self.low, self.high = low, high
        self.rng = random.Random(seed)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self.cuts = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> CuttingProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            with self._lock:
                self.connections += 1
                budget = [self.rng.randint(self.low, self.high)]
            link = _Link(client, upstream, budget, self)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=link.pump, args=(source, sink), daemon=True).start()


class _Link:
    def __init__(
        self, client: socket.socket, upstream: socket.socket, budget: list[int], proxy: CuttingProxy
    ) -> None:
        self.sockets = (client, upstream)
        self.budget = budget
        self.proxy = proxy
        self.lock = threading.Lock()
        self.closed = False

    def pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(16384)
                if not data:
                    break
                with self.lock:
                    allowed = min(len(data), self.budget[0])
                    self.budget[0] -= allowed
                if allowed:
                    sink.sendall(data[:allowed])
                if allowed < len(data):
                    self.cut()
                    return
        except OSError:
            pass
        self.close()

    def cut(self) -> None:
        """Reset both sides, as a dropped mobile connection does."""
        with self.proxy._lock:
            self.proxy.cuts += 1
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for sock in self.sockets:
            # shutdown first: it wakes the other pump thread blocked in recv() on this
            # socket, which a bare close() from another thread would not.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
