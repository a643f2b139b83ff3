"""Huiji refuses to start as a brand's production site with stand-ins in place.

With DEBUG off, these are errors (every management command, runserver and migrate among
them, runs Django's system checks; the app servers and Celery call `refuse_unsafe_start`):
a payment, SMS, WeChat login, WeChat message or payout backend whose class says
`stand_in = True` (the sandbox gateway, the console and in-memory SMS, the fake WeChat login,
the console WeChat messages, the sandbox payouts; the last two may be set empty instead,
which turns them off), a cache each process keeps for itself (REDIS_URL unset: throttles
and sold-out answers would be per process), or
SMS_TEST_CODES set. HUIJI_SANDBOX=1 says the site is a staging or acceptance site, where
they are allowed; `check --deploy` then warns. A real backend whose settings are missing
is an error whatever DEBUG says.
"""

import sys

import django
from django.apps import apps
from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

BACKEND_SETTINGS = ("PAYMENT_BACKEND", "SMS_BACKEND", "WECHAT_PROVIDER")
# Empty turns these off (no WeChat messages, no payouts) rather than naming a backend.
OPTIONAL_BACKEND_SETTINGS = ("WECHAT_MESSAGE_BACKEND", "PAYOUT_BACKEND")
PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)
SANDBOX_HINT = "or set HUIJI_SANDBOX=1 if this is a staging or acceptance site, never a brand's"


@checks.register(checks.Tags.security)
def backends_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    production = not (settings.DEBUG or settings.HUIJI_SANDBOX)
    errors = []
    optional = [name for name in OPTIONAL_BACKEND_SETTINGS if getattr(settings, name)]
    for name in [*BACKEND_SETTINGS, *optional]:
        path = getattr(settings, name)
        try:
            backend = import_string(path)
        except ImportError as exc:
            errors.append(
                checks.Error(
                    f"{name} names {path!r}, which cannot be imported: {exc}.",
                    hint=f"Set {name} to the dotted path of a backend class (README).",
                    id="huiji.E004",
                )
            )
            continue
        if production and getattr(backend, "stand_in", False):
            errors.append(
                checks.Error(
                    f"{name} is {path}, a stand-in, and DEBUG is off.",
                    hint=(
                        f"Set {name} to a real backend (README, Configuration)"
                        + (", or empty to turn it off" if name in OPTIONAL_BACKEND_SETTINGS else "")
                        + f", {SANDBOX_HINT}."
                    ),
                    id="huiji.E001",
                )
            )
        problems = getattr(backend, "configuration_problems", list)()
        errors += [
            checks.Error(f"{name} is {path}: {problem}", id="huiji.E005") for problem in problems
        ]
    if production and settings.CACHES["default"]["BACKEND"] in PER_PROCESS_CACHES:
        errors.append(
            checks.Error(
                "The cache is this process's memory (REDIS_URL is unset), and DEBUG is off: "
                "throttles and sold-out answers would be kept per process.",
                hint=f"Set REDIS_URL, e.g. redis://redis:6379/1, {SANDBOX_HINT}.",
                id="huiji.E002",
            )
        )
    if production and settings.SMS_TEST_CODES:
        errors.append(
            checks.Error(
                "SMS_TEST_CODES is set and DEBUG is off: anyone may sign in as those numbers.",
                hint=f"Unset SMS_TEST_CODES, {SANDBOX_HINT}.",
                id="huiji.E003",
            )
        )
    return errors


@checks.register(checks.Tags.security)
def https_behind_proxy_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Behind nginx a request is known to be HTTPS only by the header a trusted proxy sets
    (SECURE_PROXY_SSL_HEADER, set with TRUSTED_PROXY_COUNT or TRUSTED_PROXIES): without it,
    SECURE_SSL_REDIRECT would send every request to HTTPS for ever."""
    if settings.DEBUG or not settings.SECURE_SSL_REDIRECT or settings.SECURE_PROXY_SSL_HEADER:
        return []
    return [
        checks.Error(
            "SECURE_SSL_REDIRECT is on, but no proxy is trusted to say a request came over "
            "HTTPS: behind nginx every request would be redirected again and again.",
            hint="Set TRUSTED_PROXY_COUNT=1 (nginx in front, README), or "
            "SECURE_SSL_REDIRECT=false if the app server itself speaks HTTPS.",
            id="huiji.E006",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def deleted_phone_key_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Without a key of its own, the hash of deleted accounts' phones hangs on SECRET_KEY:
    rotating that after a leak would forget every deleted phone (apps.members.returning)."""
    if settings.DELETED_PHONE_KEY:
        return []
    return [
        checks.Warning(
            "DELETED_PHONE_KEY is unset: the phones of deleted accounts are remembered under "
            "SECRET_KEY, and changing it would let each of them earn the new-member welcome "
            "again.",
            hint="Set DELETED_PHONE_KEY to a long random value once, and never change it.",
            id="huiji.W002",
        )
    ]


SMS_RECEIPT_TOKEN_LENGTH = 32  # the secret of the receipts callback's address, at least


@checks.register(checks.Tags.security, deploy=True)
def sms_receipt_token_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The receipts callback's address is its only secret (Tencent Cloud signs nothing):
    a short token could be guessed, and with it any text marked delivered or not."""
    token = settings.SMS_RECEIPT_TOKEN
    if not token or len(token) >= SMS_RECEIPT_TOKEN_LENGTH:
        return []
    return [
        checks.Error(
            f"SMS_RECEIPT_TOKEN is shorter than {SMS_RECEIPT_TOKEN_LENGTH} characters: the "
            "address of the delivery-receipt callback could be guessed.",
            hint="Set it to a long random value, e.g. python -c "
            "'import secrets; print(secrets.token_urlsafe(32))', and give Tencent Cloud the "
            "new address.",
            id="huiji.E007",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def sandbox_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if settings.HUIJI_SANDBOX and not settings.DEBUG:
        return [
            checks.Warning(
                "HUIJI_SANDBOX is on: this site may run stand-ins (sandbox payments, console "
                "SMS, fake WeChat login, SMS test codes).",
                hint="Unset HUIJI_SANDBOX on a brand's production site.",
                id="huiji.W001",
            )
        ]
    return []


def refuse_unsafe_start() -> None:
    """For the processes that Django's commands do not start (app servers, Celery): set
    Django up, run the system checks as runserver does and exit, saying why, on any error."""
    if not apps.ready:
        django.setup()
    errors = [
        message
        for message in checks.run_checks(include_deployment_checks=False)
        if message.is_serious() and not message.is_silenced()
    ]
    if errors:
        text = "\n".join(str(error) for error in errors)
        sys.stderr.write(f"Huiji will not start:\n{text}\n")
        raise SystemExit(1)
