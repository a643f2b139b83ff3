"""The page a locked-out sign-in gets, on /admin/ and /dashboard/ alike (django-axes calls it
as AXES_LOCKOUT_CALLABLE)."""

import math

from django.conf import settings
from django.shortcuts import render


def locked_out(request, response=None, credentials=None):
    wait = settings.AXES_COOLOFF_TIME
    page = render(
        request,
        "dashboards/locked_out.html",
        {"minutes": math.ceil(wait.total_seconds() / 60)},
        status=429,
    )
    page["Retry-After"] = str(int(wait.total_seconds()))
    return page
