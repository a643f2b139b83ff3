"""What a load balancer asks each web process (README.md, "Operations").

/healthz: the process answers; it touches nothing else, so a database outage does not make
every process look dead and get restarted. /readyz: whether this process can serve: 503
while PostgreSQL does not answer (a new connection waits DB_CONNECT_TIMEOUT). Redis is
reported too, but does not make a process unready: without it tills still sell (throttles
let requests through, cached data is read from the database), and taking every process
out of the pool over it would stop them."""

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse

from apps.core.outages import UNAVAILABLE


def healthz(request):
    return JsonResponse(
        {"status": "ok", "brand": settings.BRAND_NAME}, json_dumps_params={"ensure_ascii": False}
    )


def readyz(request):
    checks = {"database": _database_ok(), "redis": _redis_ok()}
    ready = checks["database"]
    response = JsonResponse(
        {
            "status": "ok" if all(checks.values()) else ("degraded" if ready else "unavailable"),
            "checks": {name: "ok" if ok else "down" for name, ok in checks.items()},
        },
        status=200 if ready else 503,
    )
    if not ready:
        response["Retry-After"] = "5"
    return response


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except UNAVAILABLE:  # the connection is closed when the request ends, as for any request
        return False


def _redis_ok() -> bool:
    try:
        cache.get("readyz")
        return True
    except UNAVAILABLE:
        return False
