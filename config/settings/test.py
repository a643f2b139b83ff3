"""Settings for the test suite: the same as production's, on PostgreSQL."""

import atexit
import os
import shutil
import tempfile

from config.settings import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-only-secret-key"
DATABASES = {
    "default": database(  # noqa: F405
        os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/huiji"),
    )
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise RuntimeError(
        "The test suite runs on PostgreSQL: set TEST_DATABASE_URL to a postgres:// URL."
    )
# Numbers in the sale's transaction, which a test's transaction rolls back; the tests of
# numbering apart turn it on (tests/orders/test_numbering.py).
DATABASES["numbering"] = numbering_database(DATABASES["default"])  # noqa: F405
ORDER_NUMBERS_APART = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Tasks run in-process, except in the worker that the Celery end-to-end test starts.
CELERY_BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "memory://")
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL == "memory://"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DEMO_DATA_ALLOWED = True
# Uploads go to a directory of their own, never to the checkout's media/.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="huiji-test-media-"))  # noqa: F405
atexit.register(shutil.rmtree, MEDIA_ROOT, ignore_errors=True)
SMS_BACKEND = "apps.core.sms.LocmemSmsBackend"
SMS_TEST_CODES = "13800000000=123456"
# The suite is an acceptance site: it runs the stand-ins (in-memory SMS, fake WeChat login,
# sandbox payments, per-process cache) with DEBUG off, as HUIJI_SANDBOX=1 allows.
# tests/core/test_checks.py turns it off to see production refuse them.
HUIJI_SANDBOX = True
SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP
# Real Redis for the tests that need it (Celery end to end).
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
WHITENOISE_AUTOREFRESH = True  # no collectstatic for tests
WECHAT_MESSAGE_BACKEND = "apps.marketing.channels.LocmemWechatMessageBackend"
