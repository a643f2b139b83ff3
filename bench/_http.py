"""A lean HTTP/1.1 client for the load processes: each request goes out on a kept socket
(a new one when the server closed it), and only the status line and Content-Length of the
answer are read. http.client parses every header with the email package, and on a small
machine the load processes share the cores with the server they measure."""

import socket


class Connection:
    def __init__(self, port: int, host: str = "127.0.0.1"):
        self.address = (host, port)
        self.sock = None

    def request(self, method: str, path: str, headers: dict, body: bytes = b""):
        """Send one request; returns the answer's status and body."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.address[0]}"]
        lines += [f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=30)
        self.sock.sendall("\r\n".join([*lines, "", ""]).encode("latin-1") + body)
        data = self._receive(b"")
        while b"\r\n\r\n" not in data:
            data = self._receive(data)
        head, _, rest = data.partition(b"\r\n\r\n")
        status_line, *field_lines = head.decode("latin-1").split("\r\n")
        fields = {}
        for line in field_lines:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        length = int(fields.get("content-length", 0))
        while len(rest) < length:
            rest = self._receive(rest)
        if fields.get("connection", "").lower() == "close":
            self.close()
        return int(status_line.split(" ", 2)[1]), rest[:length]

    def _receive(self, data: bytes) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection in the middle of an answer")
        return data + chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
