import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

import config.urls  # noqa: E402, F401  every view loaded now, not on the first request

# What is loaded by now lives as long as the process. Frozen, the garbage collector's full
# collections no longer scan it: each took 100–200 ms of one request, and a request that
# held a row every checkout needs held up all the others meanwhile.
gc.freeze()
