"""gunicorn for the mini-program API, the shop owners' dashboards and the HQ console:
`gunicorn -c config/gunicorn_app.py`.

Most of a request here is spent waiting on the database (a coupon claim is two short
statements), so each process serves two requests at once in threads, and keeps the
connection of a client or of nginx's upstream keepalive open for its next request. On two
cores a flash drop went from about 650 claims a second with one request per process to a
median of about 745 (610–1,130 over ten runs; bench.coupon_claim, then with per-process
memory as the cache). Three or four threads did no better, nor did two processes of four
threads or three of two (with Redis as the cache).
"""

import multiprocessing
import os

wsgi_app = "config.wsgi"
bind = "0.0.0.0:8000"
workers = multiprocessing.cpu_count() * 2
worker_class = "gthread"
threads = 2
# longer than nginx keeps an idle upstream connection (keepalive_timeout 60s), so that nginx
# is always the one to close it and never sends a request on a connection closing here
keepalive = 75
# gunicornc's socket, one for each pool on the host (gunicorn ≥ 25.1)
control_socket = os.path.expanduser("~/.gunicorn/huiji-app.ctl")
