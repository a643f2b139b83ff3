"""gunicorn for the POS API: `gunicorn -c config/gunicorn_pos.py`, with nginx sending
`/api/pos/` here.

The tills have processes of their own, so a flash coupon drop in the mini-program never
takes the workers a checkout needs. A checkout is mostly Python work, done while it holds
rows that every sale at its store needs: one request per process, so that no request
holding them waits for another thread's turn with the interpreter. Two threads a process
took the peak from 124–154 to 92–121 orders a second and its p99 from 130–153 ms to
300–450 ms (bench.pos_checkout).

The tills come first: where a flash drop's Python in the app pool shares the machine's
cores with them, this pool runs HUIJI_POS_PRIORITY (5 by default; 0 to share equally) nice
levels above normal, so that the drop takes the cores the tills leave and not the ones
they need. The app pool runs below normal (HUIJI_APP_PRIORITY, config/granian_app.py), so
that PostgreSQL, which every checkout waits on, is not starved either.
"""

import multiprocessing
import os

from config.priority import cpu_priority_change

wsgi_app = "config.wsgi"
# Loopback, for nginx on the same machine; HUIJI_POS_BIND (or --bind) to change.
bind = os.environ.get("HUIJI_POS_BIND", "127.0.0.1:8001")
workers = multiprocessing.cpu_count() * 2
worker_class = "sync"
# gunicornc's socket, named for this pool (gunicorn ≥ 25.1)
control_socket = os.path.expanduser("~/.gunicorn/huiji-pos.ctl")


def on_starting(server):
    """Refuse to start where runserver would (apps/core/checks.py); then put the tills first
    (above)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from apps.core.checks import refuse_unsafe_start

    refuse_unsafe_start()
    steps = int(os.environ.get("HUIJI_POS_PRIORITY", "5"))
    if not cpu_priority_change(-steps):
        server.log.warning(
            "HUIJI_POS_PRIORITY=%s needs CAP_SYS_NICE: the tills' pool runs at normal CPU "
            "priority (under systemd, give its unit a higher CPUWeight= instead)",
            steps,
        )
