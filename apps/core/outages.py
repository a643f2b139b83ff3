"""What a request answers while PostgreSQL or Redis cannot be reached: 503 with a
Retry-After, JSON under /api/ and a page elsewhere, instead of a 500 that tells a till or a
member nothing. The connection that failed is closed when the request ends (Django does so
for a connection that saw an error and no longer answers), so the next request opens a new
one: the site recovers by itself once the server is back. README.md, "Operations"."""

import logging

import redis
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from apps.core.api.exceptions import error_body

RETRY_AFTER_SECONDS = 5

logger = logging.getLogger(__name__)

# What a server that went away raises: psycopg's connection errors (Django wraps them in its
# own), and redis-py's for the cache (django-redis raises its client's error as it is).
UNAVAILABLE = (OperationalError, InterfaceError, redis.ConnectionError, redis.TimeoutError)


def unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, UNAVAILABLE)


def unavailable_response(request):
    message = _("The service is briefly unavailable. Please try again in a few seconds.")
    if request.path.startswith("/api/"):
        response = JsonResponse(error_body("unavailable", message), status=503)
    else:
        response = TemplateResponse(request, "503.html", {"message": message}, status=503)
        response.render()
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class UnavailableMiddleware:
    """A view that found PostgreSQL or Redis gone answers 503, logged as one line: during an
    outage every request fails alike, and a traceback each would bury the log. What fails
    before the view (a middleware's query) reaches handler500 (config/urls.py), which
    answers the same."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not unavailable(exception):
            return None
        logger.warning("%s %s: %s", request.method, request.path, exception)
        return unavailable_response(request)
