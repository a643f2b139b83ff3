"""Error reports (the debug page, mails to ADMINS) without the site's secrets."""

import os
import re

from django.views.debug import SafeExceptionReporterFilter

URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


class SecretsFilter(SafeExceptionReporterFilter):
    """Django's filter hides settings named like a key, a token or a password. Huiji's URLs
    of services carry passwords too (DATABASE_URL, CELERY_BROKER_URL, REDIS_URL), and a
    WSGI server such as granian puts the whole process environment, every secret in it,
    into each request's META: a META entry that is an environment variable is hidden."""

    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|DATABASE|BROKER|REDIS|DSN"
        "|PRIVATE|TEST_CODES",
        re.IGNORECASE,
    )

    def cleanse_setting(self, key, value):
        """A service's address keeps its password out wherever it sits, e.g. a cache's
        LOCATION inside CACHES, whose name says nothing secret."""
        value = super().cleanse_setting(key, value)
        if type(value) is str:  # not a lazy object, which passes for one
            return URL_CREDENTIALS.sub(rf"\g<scheme>{self.cleansed_substitute}@", value)
        return value

    def get_safe_request_meta(self, request):
        if not hasattr(request, "META"):
            return {}
        return {
            name: self.cleansed_substitute
            if name in os.environ or self.hidden_settings.search(name)
            else self.cleanse_setting(name, value)
            for name, value in request.META.items()
        }
