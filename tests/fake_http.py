"""A local HTTP server standing in for a provider (WeChat, WeChat Pay, Tencent Cloud SMS) in
tests: it records what arrives and answers what the test's `answer` function says."""

import contextlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0  # seconds to wait before answering (a provider that hangs)


@dataclass
class FakeServer:
    url: str
    received: list[Received]


@contextlib.contextmanager
def fake_server(answer):
    """Serve on 127.0.0.1 for the block; `answer(received) -> Answer` for each request."""
    received: list[Received] = []
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            request = Received(
                self.command,
                self.path,
                {name.lower(): value for name, value in self.headers.items()},
                self.rfile.read(length),
            )
            received.append(request)
            reply = answer(request)
            if reply.delay:
                release.wait(reply.delay)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                self.send_response(reply.status)
                for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

        do_GET = do_POST = _handle

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeServer(f"http://127.0.0.1:{server.server_address[1]}", received)
    finally:
        release.set()
        server.shutdown()
        server.server_close()
