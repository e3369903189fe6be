"""A loopback TCP proxy that cuts every connection after a random number of bytes.

It stands for the field's network: each connection carries a random budget of bytes (both
directions together) and is then reset mid-stream, wherever that falls — in a request line,
a header, a photo chunk or a response.

`IdleResetProxy` stands for a server whose keep-alive ran out: a connection that sat idle
is reset when the client sends on it again, before anything reaches the server.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
import time


class CuttingProxy:
    def __init__(
        self,
        target_port: int,
        low: int,
        high: int,
        seed: int = 1,
        server_sees_reset: bool = True,
    ) -> None:
        self.link_class: type[_Link] = _Link
        self.server_sees_reset = server_sees_reset
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
        self.bytes_up = 0  # client → server bytes forwarded
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
            link = self.link_class(client, upstream, budget, self)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=link.pump, args=(source, sink), daemon=True).start()


class _Link:
    last = 0.0  # when the connection last carried a byte

    def __init__(
        self, client: socket.socket, upstream: socket.socket, budget: list[int], proxy: CuttingProxy
    ) -> None:
        self.sockets = (client, upstream)
        self.budget = budget
        self.proxy = proxy
        self.lock = threading.Lock()
        self.closed = False

    def refuse(self, source: socket.socket) -> bool:
        """Whether to reset instead of forwarding what `source` just sent (never, here)."""
        return False

    def pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(16384)
                if not data:
                    break
                if self.refuse(source):
                    self.cut()
                    return
                with self.lock:
                    self.last = time.monotonic()
                    if source is self.sockets[0]:
                        with self.proxy._lock:
                            self.proxy.bytes_up += min(len(data), self.budget[0])
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
        """Reset both sides, as a dropped mobile connection does (the server side only gets
        an end of stream when the proxy's `server_sees_reset` is off: it then reads every
        byte that reached it, which a reset would make its kernel drop unread)."""
        with self.proxy._lock:
            self.proxy.cuts += 1
        for sock in self.sockets:
            if sock is self.sockets[1] and not self.proxy.server_sees_reset:
                continue
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


class _IdleResetLink(_Link):
    def refuse(self, source: socket.socket) -> bool:
        proxy = self.proxy
        assert isinstance(proxy, IdleResetProxy)
        with self.lock:
            stale = self.last and time.monotonic() - self.last >= proxy.idle_s
        return bool(stale) and source is self.sockets[0]


class IdleResetProxy(CuttingProxy):
    """Forwards everything, except that a client sending on a connection idle for `idle_s`
    or more gets a reset instead: the server closed it just as the request went out."""

    def __init__(self, target_port: int, idle_s: float) -> None:
        super().__init__(target_port, low=10**12, high=10**12)
        self.idle_s = idle_s
        self.link_class = _IdleResetLink
