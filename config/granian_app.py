"""Granian for the mini-program API, the shop owners' dashboards and the HQ console:
`python -m config.granian_app` (on 127.0.0.1:8000, for nginx on the same machine; `--bind`
or HUIJI_APP_BIND, and `--workers`, to change). It refuses to start where runserver would
(apps/core/checks.py): a production site with a stand-in backend, say.

A request here is mostly Python around a statement or two (a coupon claim is two), so on
the cores the web pool shares with the database, the HTTP server's own Python counts:
under gunicorn's threads, its parser and its poller handing connections to the threads
took about a fifth of a claim's time. Granian speaks HTTP in Rust and runs Django in two
threads a process. On two cores (bench.coupon_claim, alternating runs on the same day) a
flash drop went from 654–728 claims a second to 788–833, sold-out answers from about 1,300
a second to 2,800, and p99 from 62 ms to 40–43 ms.

Each process keeps a client's connection (or nginx's upstream keepalive) for its next
request. It closes one that sends no request for IDLE_SECONDS; nginx must give up on an
idle connection first (`keepalive_timeout` below that in the upstream, README), so that it
never sends a request on a connection closing here.

It runs HUIJI_APP_PRIORITY (10 by default; 0 to share equally) nice levels below normal.
The tills' checkouts wait on PostgreSQL, and with Linux's autogroups each PostgreSQL
backend (a session of its own) weighs as much as this pool's whole session, so during a
flash drop raising the tills' pool alone left them waiting on a database starved by the
drop's Python. With this pool 10 levels down and the tills' 5 up (bench.mixed_load, 600
till orders during 20,000 claims on two cores), the tills kept 88–100% of their pace
instead of 87%, and the drop still served 440–490 claims a second. In an idle CPU group
instead (under systemd, CPUWeight=idle for this pool's unit), a till's process that wakes
takes the core from this pool at once: the tills' p99 was under 100 ms in 4 runs of 7,
against 1 of 9 at nice 10 alone (README, Deployment).
"""

import argparse
import logging
import multiprocessing
import os

from granian.constants import Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server import Server

from apps.core.checks import refuse_unsafe_start
from config.priority import cpu_priority_change

IDLE_SECONDS = 60
THREADS = 2


def server(bind: str, workers: int, log_level: str = "info") -> Server:
    host, _, port = bind.rpartition(":")
    return Server(
        "config.wsgi:application",
        interface=Interfaces.WSGI,
        address=host,
        port=int(port),
        workers=workers,
        blocking_threads=THREADS,
        http1_settings=HTTP1Settings(header_read_timeout=IDLE_SECONDS * 1000),
        respawn_failed_workers=True,
        workers_kill_timeout=30,
        log_level=LogLevels(log_level),
    )


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bind", default=os.environ.get("HUIJI_APP_BIND", "127.0.0.1:8000"), help="host:port"
    )
    parser.add_argument("--workers", type=int, default=multiprocessing.cpu_count() * 2)
    parser.add_argument("--log-level", default="info", choices=[level.value for level in LogLevels])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    refuse_unsafe_start()
    steps = int(os.environ.get("HUIJI_APP_PRIORITY", "10"))
    if not cpu_priority_change(steps):
        logging.getLogger(__name__).warning(
            "HUIJI_APP_PRIORITY=%s needs CAP_SYS_NICE: the app pool runs at normal CPU priority",
            steps,
        )
    server(args.bind, args.workers, args.log_level).serve()


if __name__ == "__main__":
    main()
