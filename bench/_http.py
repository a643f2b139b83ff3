"""A lean HTTP/1.1 client for the load processes: each request goes out on a kept socket
(a new one when the server closed it), and only the status line and Content-Length of the
answer are read. http.client parses every header with the email package, and on a small
machine the load processes share the cores with the server they measure. And Huiji served
as deployed, for the length of a run."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Where `cpu_idle_join` puts a process: a CPU cgroup marked idle, as systemd's
# CPUWeight=idle makes one (cgroup v1's cpu controller here, else v2's).
IDLE_GROUPS = ("/sys/fs/cgroup/cpu/huiji_bench_idle", "/sys/fs/cgroup/huiji_bench_idle")


def cpu_idle_join(pid: int) -> bool:
    """Put process `pid` (and what it starts from now on) in an idle CPU group: it runs only
    on CPU time that no other process wants, and any other process that wakes takes the core
    from it at once. False where this machine does not allow it (no root, no cpu.idle)."""
    for group in IDLE_GROUPS:
        try:
            os.makedirs(group, exist_ok=True)
            # "r+": a cgroup's own files, never new ones in a directory that is not a cgroup
            with open(f"{group}/cpu.idle", "r+") as idle:
                idle.write("1")
            with open(f"{group}/cgroup.procs", "r+") as procs:
                procs.write(str(pid))
            return True
        except OSError:
            continue
    return False


@contextlib.contextmanager
def serve(env: dict, pool: str, workers: int | None = None, idle: bool = False):
    """Huiji served as deployed, on a free local port, for the length of the block: the "app"
    pool by granian (`config/granian_app.py`), the "pos" pool by gunicorn
    (`config/gunicorn_pos.py`); with `idle`, in an idle CPU group (`cpu_idle_join`), as
    under a systemd unit with CPUWeight=idle."""
    port = free_port()
    bind = f"127.0.0.1:{port}"
    command = {
        "app": [
            sys.executable,
            "-m",
            "config.granian_app",
            "--bind",
            bind,
            "--log-level",
            "warning",
        ],
        "pos": [
            os.path.join(os.path.dirname(sys.executable), "gunicorn"),
            *("--config", "config/gunicorn_pos.py", "--bind", bind, "--log-level", "warning"),
            "--no-control-socket",
        ],
    }[pool]
    server = subprocess.Popen(
        [*command, *(["--workers", str(workers)] if workers else [])],
        env=env,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        start_new_session=True,
    )
    if idle and not cpu_idle_join(server.pid):
        print(f"the {pool} pool runs outside an idle CPU group: this machine does not allow it")
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"the {pool} pool did not start")
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()


def celery_worker(env: dict, *, concurrency: int | None = None, idle: bool = False):
    """A Celery worker as deployed (`celery -A config worker`, HUIJI_WORKER_PRIORITY
    included), in a session of its own, with `concurrency` processes (Celery's default: one
    a core); with `idle`, in an idle CPU group (`cpu_idle_join`)."""
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "config", "worker"),
            *([f"--concurrency={concurrency}"] if concurrency else []),
            *("--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel=ERROR"),
        ],
        env=env,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if idle and not cpu_idle_join(worker.pid):
        print("the worker runs outside an idle CPU group: this machine does not allow it")
    return worker


@contextlib.contextmanager
def worker_running(env: dict, *, idle: bool = False):
    """`celery_worker` for the length of the block."""
    worker = celery_worker(env, idle=idle)
    try:
        yield worker
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait()
