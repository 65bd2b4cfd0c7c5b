"""A TCP relay in front of a real server, for the tests of a server that hangs or goes away."""

from __future__ import annotations

import contextlib
import socket
import threading


class Relay:
    """A TCP relay to a server that can fall silent (`silent`: it then swallows what it is
    sent and answers nothing, keeping the connections open, as a hung server or a cut
    network that sends no reset does) or go away (`close`: every connection reset and new
    ones refused, as a server that stopped or a host that rebooted)."""

    def __init__(self, host: str, port: int):
        self.upstream = (host, port)
        self.silent = threading.Event()
        self.closed = threading.Event()
        self.sockets: list[socket.socket] = []
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
                if not data:
                    return
                if not self.silent.is_set():
                    sink.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self.closed.set()
        # A thread blocked in accept() keeps a closed listening socket open: shut it first.
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)
        self.server.close()
        for s in self.sockets:
            with contextlib.suppress(OSError):  # already gone
                s.shutdown(socket.SHUT_RDWR)
            s.close()
