"""Error reports (the debug page, mails to ADMINS) hold none of the site's secrets, though
granian hands the whole process environment to each request as its META."""

import secrets
import sys

from django.test import RequestFactory, override_settings
from django.views.debug import ExceptionReporter

SECRET = secrets.token_hex(8)  # made here: the report shows the source lines around a frame
DATABASE_URL = f"postgres://huiji:{SECRET}@db:5432/huiji"
BROKER_URL = f"redis://:{SECRET}@redis:6379/0"


def report(request) -> tuple[str, str]:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        reporter = ExceptionReporter(request, *sys.exc_info())
    return reporter.get_traceback_text(), reporter.get_traceback_html()


@override_settings(
    DATABASE_URL=DATABASE_URL,
    CELERY_BROKER_URL=BROKER_URL,
    REDIS_URL=f"redis://:{SECRET}@redis:6379/1",
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"redis://:{SECRET}@redis:6379/1",
        }
    },
    WECHATPAY_APIV3_KEY=SECRET,
)
def test_an_error_report_leaves_out_secrets_in_settings_and_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", DATABASE_URL)
    monkeypatch.setenv("SOME_VENDOR_TOKENLESS_SETTING", f"env-only-{SECRET}")
    request = RequestFactory().get("/api/v1/me", HTTP_X_CLIENT="till-7")
    request.META.update(
        {
            "DATABASE_URL": DATABASE_URL,  # as granian's environ carries it
            "SOME_VENDOR_TOKENLESS_SETTING": f"env-only-{SECRET}",
            "CELERY_BROKER_URL": BROKER_URL,
        }
    )

    for text in report(request):
        assert SECRET not in text
        assert "DATABASE_URL" in text and "********************" in text
        assert "till-7" in text  # the request's own headers are still shown
