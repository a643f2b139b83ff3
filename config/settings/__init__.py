"""Huiji settings, read from the environment.

With no environment at all Huiji runs on its embedded default: a SQLite file, Celery
tasks run in-process, SMS and WeChat go to console backends, DEBUG on. Production sets
DATABASE_URL (PostgreSQL), SECRET_KEY, ALLOWED_HOSTS and CELERY_BROKER_URL, and refuses
to start without the first two. README.md, "Configuration", lists every variable.
"""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def seconds_or_none(value: str) -> int | None:
    """A number of seconds, or None for "none" (no limit)."""
    return None if value.strip().lower() == "none" else int(value)


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATABASE_URL = os.environ.get("DATABASE_URL", "")
DEBUG = env_bool("DEBUG", default=not DATABASE_URL)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "embedded-default-insecure-key-never-use-in-production"
if not DEBUG and not DATABASE_URL.startswith(("postgres://", "postgresql://")):
    raise ImproperlyConfigured("DATABASE_URL must point to PostgreSQL when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
# The public address of this site, used in links printed on QR posters.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
BRAND_NAME = os.environ.get("BRAND_NAME", "会籍优选")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    # Huiji apps, in layer order (DESIGN.md): an app imports only from apps above it here.
    "apps.core",
    "apps.distributors",
    "apps.stores",
    "apps.members",
    "apps.tiers",
    "apps.points",
    "apps.coupons",
    "apps.mall",
    "apps.orders",
    "apps.analytics",
    "apps.marketing",
    "apps.referrals",
    "apps.miniprogram",
    "apps.pos",
    "apps.dashboards",
    "apps.memberweb",
]

MIDDLEWARE = [
    "apps.core.middleware.ProxyHeadersMiddleware",  # first: X-Forwarded-Proto from a proxy only
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "apps.core.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy on the pages that ask for one (apps/memberweb/views.py): not
    # site-wide, as the admin, the dashboards and the API docs use inline styles and scripts.
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a locked-out sign-in into the lockout page
    # last, so the first to see a view's exception: PostgreSQL or Redis gone is a 503
    "apps.core.outages.UnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database(url: str, **options) -> dict:
    """Django's database settings for `url`. On PostgreSQL the parameters travel apart from
    the statement, and psycopg prepares a statement its connection has run five times, so
    the database stops parsing and planning the same token lookup or coupon claim on every
    request. Off (DB_PREPARED_STATEMENTS=false) behind a pooler in transaction mode that
    cannot keep prepared statements (PgBouncer before 1.21)."""
    found = dj_database_url.parse(url, **options)
    if found["ENGINE"] == "django.db.backends.postgresql" and env_bool(
        "DB_PREPARED_STATEMENTS", default=True
    ):
        found.setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
    if found["ENGINE"] == "django.db.backends.postgresql":
        # A request waits this long for a database that is not answering, then gets a 503.
        found.setdefault("OPTIONS", {}).setdefault(
            "connect_timeout", int(os.environ.get("DB_CONNECT_TIMEOUT", "3"))
        )
    return found


DATABASES = {
    "default": database(
        DATABASE_URL or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=seconds_or_none(os.environ.get("DB_CONN_MAX_AGE", "none")),
        # Off: the check is one more round trip on every request. Without it, a connection the
        # database dropped fails one request (a 503 tills retry), and Django closes it after
        # that request. It would not shorten the recovery from a PostgreSQL restart
        # (bench.faults postgres_restart): under traffic each pooled connection meets the
        # outage while it lasts and is replaced then (README.md, "Operations").
        conn_health_checks=env_bool("DB_HEALTH_CHECKS", default=False),
    )
}


def numbering_database(default: dict) -> dict:
    """A second connection to the same PostgreSQL database, on which a store's order counter
    takes each number in a transaction of its own (apps/orders/checkout.py, _next_order_no):
    a sale does not hold the counter row until it commits."""
    return {**default, "TEST": {"MIRROR": "default"}}


# Off (ORDER_NUMBERS_APART=false), or on SQLite: the number is taken in the sale's transaction.
ORDER_NUMBERS_APART = DATABASES["default"][
    "ENGINE"
] == "django.db.backends.postgresql" and env_bool("ORDER_NUMBERS_APART", default=True)
if ORDER_NUMBERS_APART:
    DATABASES["numbering"] = numbering_database(DATABASES["default"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"

# Failed sign-ins to /admin/ and /dashboard/ (django-axes): LOGIN_FAILURE_LIMIT wrong
# passwords for one username from one client address lock that pair out for
# LOGIN_LOCKOUT_MINUTES (each further try starts the wait again); a right password resets
# the count. By username and address together (an IPv6 address counts as its /64:
# apps.core.clients.client_key), so a stranger who knows a username cannot lock its owner
# out from everywhere, and one mistyping colleague behind a store's shared address locks
# out no one else. Lockouts are in the audit log, with the full address.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "apps.core.clients.client_key"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # its start-up banner would open every command's output
AXES_LOCKOUT_CALLABLE = "apps.dashboards.lockout.locked_out"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]


def cache(url: str) -> dict:
    """Django's cache settings: Redis at `url`, which every process shares (throttling
    counters, sold-out answers, cached templates and reference data), else this process's
    memory. django-redis keeps its Redis client; Django's own Redis backend builds a new one
    for every operation, which took a sixth of a coupon claim's time."""
    if not url:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    # Short timeouts: while Redis is gone a request waits a moment for it, not a minute
    # (README.md, "Operations"); redis-py connects again on the next call once it is back.
    timeout = float(os.environ.get("REDIS_TIMEOUT_SECONDS", "0.5"))
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": timeout, "SOCKET_TIMEOUT": timeout},
    }


CACHES = {"default": cache(os.environ.get("REDIS_URL", ""))}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "config" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded images (product pictures and their thumbnails), under content-hashed names: a
# name never changes meaning, so they are served with a year's immutable cache. Huiji
# serves MEDIA_URL itself (apps/core/media.py) unless SERVE_MEDIA is off because a proxy
# (nginx: README.md, "Media") serves MEDIA_ROOT.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or BASE_DIR / "media")
MEDIA_URL = "/media/"
SERVE_MEDIA = env_bool("SERVE_MEDIA", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "apps.core.staticfiles.StaticFilesStorage"
    },
}

# The client's address behind proxies (apps/core/clients.py), for throttles, sign-in codes,
# the sign-in lockout and the audit log. With neither set: REMOTE_ADDR, and X-Forwarded-For
# and X-Forwarded-Proto are ignored. TRUSTED_PROXY_COUNT: how many proxies every request
# passes (nginx alone: 1), read only from a loopback or private REMOTE_ADDR (or one in
# TRUSTED_PROXIES): a client reaching the app server directly is known by its own address.
# TRUSTED_PROXIES: their addresses or networks instead, farthest first, the one Huiji hears
# from last ("127.0.0.1"; "10.0.0.0/8,127.0.0.1").
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "")
if TRUSTED_PROXY_COUNT or TRUSTED_PROXIES:
    # Only a proxy that overwrites the header may say the request came over HTTPS: from
    # anyone else, apps.core.middleware.ProxyHeadersMiddleware drops it.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "apps.core.api.negotiation.JsonNegotiation",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.core.api.throttling.AnonRateThrottle",
        "apps.core.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("THROTTLE_ANON", "120/min"),
        "user": os.environ.get("THROTTLE_USER", "600/min"),
        "pos": os.environ.get("THROTTLE_POS", "1200/min"),
        # codes a store's tills may have texted to members (POS members/otp), per store
        "pos_otp": os.environ.get("THROTTLE_POS_OTP", "60/hour"),
        "sms_ip": os.environ.get("THROTTLE_SMS_IP", "20/hour"),
        "login_ip": os.environ.get("THROTTLE_LOGIN_IP", "30/min"),
        "coupon_claim": os.environ.get("THROTTLE_COUPON_CLAIM", "30/min"),
    },
    "EXCEPTION_HANDLER": "apps.core.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "apps.core.api.schema.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Huiji API",
    "DESCRIPTION": "会籍 — the mini-program API (/api/v1/) and the store POS API (/api/pos/v1/).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/(pos/)?v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from here, not a CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Where a tier's benefit or a coupon applies: one set of channels, one name. The payment
    # channel keeps the name it had before another field called "channel" came along.
    "ENUM_NAME_OVERRIDES": {
        "BenefitChannelEnum": "apps.coupons.models.CouponTemplate.CHANNELS",
        "ChannelEnum": "apps.orders.models.Order.PaymentChannel",
        "PromoterStatusEnum": "apps.referrals.models.Promoter.Status",
        "CommissionStatusEnum": "apps.referrals.models.Commission.Status",
        "CouponStatusEnum": ["available", "locked", "used", "expired", "void"],
    },
}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
# With no broker the embedded default runs every task in-process, at once.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is run again; every task may run twice
# A task taken by a worker that died (kill -9, a host rebooted) goes back to the queue after
# this many seconds: longer than the longest job (the nightly ones over all members), or a
# second worker starts it again while the first still runs it. Work that must not wait an
# hour comes back sooner by other ways: resume jobs, the outbox's lease (README.md,
# "Operations").
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
    # Workers look for such tasks every 10 s (kombu's default: every 100 s).
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
    "socket_connect_timeout": 1,
    "socket_timeout": 5,
}
# While the broker is gone, sending a task gives up after about a second (apps.core.queue
# logs it; the periodic jobs pick the work up) rather than holding a till's order.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "huiji")
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
# A coupon batch or an import still running this many minutes after it started is sent to a
# worker again by its app's resume job (every 5 minutes): its task was lost while the broker
# was down, or its worker died. One still running elsewhere goes on alone (apps.core.queue).
JOBS_RESUME_AFTER_MINUTES = int(os.environ.get("JOBS_RESUME_AFTER_MINUTES", "5"))

# Days an idempotency key is remembered; a client retrying later than this starts afresh.
IDEMPOTENCY_KEY_TTL_DAYS = int(os.environ.get("IDEMPOTENCY_KEY_TTL_DAYS", "7"))
# Files HQ uploads for imports (members, platform orders): the largest accepted, how far an
# .xlsx may unpack (a zip bomb is refused), and the days a file is kept before a job deletes
# it (its dry run and report stay). Set nginx's client_max_body_size a little above the first.
UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", str(50 * 1024 * 1024)))
UPLOAD_MAX_INFLATED_BYTES = int(os.environ.get("UPLOAD_MAX_INFLATED_BYTES", str(300 * 1024 * 1024)))
IMPORT_FILE_RETENTION_DAYS = int(os.environ.get("IMPORT_FILE_RETENTION_DAYS", "30"))
# An outbox event whose handlers keep failing is retried this many times, then marked failed.
EVENT_MAX_ATTEMPTS = int(os.environ.get("EVENT_MAX_ATTEMPTS", "12"))
# A TrueType font with Chinese glyphs for QR posters; found among the usual system fonts if unset.
POSTER_FONT = os.environ.get("POSTER_FONT", "")
# Members' mini-program sign-in (API.md, auth/*).
SMS_BACKEND = os.environ.get("SMS_BACKEND", "apps.core.sms.ConsoleSmsBackend")
# Seconds the SMS provider has to answer; a sign-in code it did not send in time is answered
# 503 sms_unavailable with a Retry-After, and the web worker is free again.
SMS_TIMEOUT_SECONDS = int(os.environ.get("SMS_TIMEOUT_SECONDS", "5"))
# "phone=code,…": numbers that always accept their code and are never sent a message
# (app-store reviewers, automated tests, the demo member).
SMS_TEST_CODES = os.environ.get("SMS_TEST_CODES", "13800000000=123456" if DEBUG else "")
WECHAT_PROVIDER = os.environ.get("WECHAT_PROVIDER", "apps.members.wechat.FakeWechatProvider")
WECHAT_APP_ID = os.environ.get("WECHAT_APP_ID", "")
WECHAT_APP_SECRET = os.environ.get("WECHAT_APP_SECRET", "")
WECHAT_API_BASE = os.environ.get("WECHAT_API_BASE", "https://api.weixin.qq.com")
# The brand's official account (公众号), optional: members bind their openid there through
# WeChat's web OAuth (auth/wechat-oa) to pay with WeChat Pay in WeChat's in-app browser.
WECHAT_OA_APP_ID = os.environ.get("WECHAT_OA_APP_ID", "")
WECHAT_OA_APP_SECRET = os.environ.get("WECHAT_OA_APP_SECRET", "")
# Tencent Cloud SMS (SMS_BACKEND = "apps.core.sms.TencentSmsBackend"): an approved signature
# and an approved template for each kind of message, its parameters {1}, {2}… named in order:
# the sign-in code, and the code a store's till asks a member to read out (积分抵现).
SMS_SIGN_NAME = os.environ.get("SMS_SIGN_NAME", "")
SMS_TEMPLATE_ID = os.environ.get("SMS_TEMPLATE_ID", "")
SMS_TEMPLATE_PARAMS = env_list("SMS_TEMPLATE_PARAMS", "code")
SMS_TILL_TEMPLATE_ID = os.environ.get("SMS_TILL_TEMPLATE_ID", "")
SMS_TILL_TEMPLATE_PARAMS = env_list("SMS_TILL_TEMPLATE_PARAMS", "store,code")
TENCENTCLOUD_SECRET_ID = os.environ.get("TENCENTCLOUD_SECRET_ID", "")
TENCENTCLOUD_SECRET_KEY = os.environ.get("TENCENTCLOUD_SECRET_KEY", "")
TENCENT_SMS_APP_ID = os.environ.get("TENCENT_SMS_APP_ID", "")
TENCENT_SMS_REGION = os.environ.get("TENCENT_SMS_REGION", "ap-guangzhou")
TENCENT_SMS_ENDPOINT = os.environ.get("TENCENT_SMS_ENDPOINT", "https://sms.tencentcloudapi.com")
# Delivery receipts of texts (apps.marketing.receipts). The provider's status callback is
# POST {SITE_URL}/api/v1/sms/receipts/<SMS_RECEIPT_TOKEN>: Tencent Cloud signs nothing, so
# the address is the secret (a long random one, e.g. `openssl rand -hex 24`); empty turns the
# callback off. SMS_RECEIPTS_PULL=1 has a job ask for them instead (PullSmsSendStatus, which
# Tencent Cloud activates on request, for a site without a callback).
SMS_RECEIPT_TOKEN = os.environ.get("SMS_RECEIPT_TOKEN", "")
SMS_RECEIPTS_PULL = env_bool("SMS_RECEIPTS_PULL", default=False)
MEMBER_TOKEN_TTL_DAYS = int(os.environ.get("MEMBER_TOKEN_TTL_DAYS", "30"))

# Points (积分): how long earned points stay pending (the return window), and when they
# expire: "year_end_next" (31 December of the year after earning) or "months:N" (N months on).
POINTS_PENDING_DAYS = int(os.environ.get("POINTS_PENDING_DAYS", "7"))
POINTS_EXPIRY = os.environ.get("POINTS_EXPIRY", "year_end_next")
# 积分抵现 at checkout: how many points make one yuan, and the largest share of an order
# that points may pay (demo: 100 points = 1 yuan, at most half the order).
POINTS_DEDUCTION_RATE = int(os.environ.get("POINTS_DEDUCTION_RATE", "100"))
POINTS_DEDUCTION_CAP = os.environ.get("POINTS_DEDUCTION_CAP", "0.5")
# The most points one order may earn, whatever the rules say (0: no limit).
POINTS_ORDER_CAP = int(os.environ.get("POINTS_ORDER_CAP", "0"))
# Points HQ moves by hand (adjustments, voids) a day without a second person's approval, for
# a person none of whose roles has a cap of its own (admin 积分 › 手工积分额度).
POINTS_MANUAL_DAILY_CAP = int(os.environ.get("POINTS_MANUAL_DAILY_CAP", "0"))

# Deleting an account keeps a keyed hash of its phone (apps/members/returning.py), so that
# the number joining again earns no welcome twice. The key: DELETED_PHONE_KEY, else derived
# from SECRET_KEY. Set it once and keep it: a new key forgets every deleted phone.
DELETED_PHONE_KEY = os.environ.get("DELETED_PHONE_KEY", "")

# Tiers: growth value counts for this many months when a tier is qualified for.
TIER_GROWTH_WINDOW_MONTHS = int(os.environ.get("TIER_GROWTH_WINDOW_MONTHS", "12"))
# Reviews that may lower a tier: "monthly" (every month once the window has passed since the
# last change) or "anniversary" (once a window after it); a member below their tier at a
# review keeps it for TIER_GRACE_DAYS (and is warned); then "drop_one" tier or "reevaluate".
TIER_REVIEW = os.environ.get("TIER_REVIEW", "monthly")
TIER_GRACE_DAYS = int(os.environ.get("TIER_GRACE_DAYS", "30"))
TIER_DOWNGRADE = os.environ.get("TIER_DOWNGRADE", "drop_one")
# Growth value for actions, once per member: joining, and completing the profile.
GROWTH_FOR_JOINING = int(os.environ.get("GROWTH_FOR_JOINING", "100"))
GROWTH_FOR_PROFILE = int(os.environ.get("GROWTH_FOR_PROFILE", "50"))

# Coupons: "new members only" means joined within this many days; members are reminded
# this many days before a coupon ends; a full refund gives back still-valid coupons.
# Seconds a process may keep serving tiers and earning rules after HQ changed them.
REFERENCE_CACHE_SECONDS = int(os.environ.get("REFERENCE_CACHE_SECONDS", "10"))
COUPON_NEW_MEMBER_DAYS = int(os.environ.get("COUPON_NEW_MEMBER_DAYS", "30"))
COUPON_REMIND_DAYS = int(os.environ.get("COUPON_REMIND_DAYS", "3"))
COUPON_RESTORE_ON_REFUND = env_bool("COUPON_RESTORE_ON_REFUND", default=True)

# Messages to members (apps.marketing): WeChat subscription messages' backend; quiet hours
# ("HH:MM-HH:MM", Asia/Shanghai, may span midnight; empty: none) during which marketing texts
# and WeChat messages wait; marketing messages a member is sent at most, per channel and for
# all channels ("all"), per day and per 7 days ("channel=day/week,…"; 0: no cap); sending
# attempts before a message fails, the first retry's wait (doubled at each attempt), and how
# long a claimed message may stay unsent before it counts as interrupted (never resent).
# A production site without WeChat messages sets it empty: they are then refused as
# "channel off", never pretended sent (apps/core/checks.py).
WECHAT_MESSAGE_BACKEND = os.environ.get(
    "WECHAT_MESSAGE_BACKEND", "apps.marketing.channels.ConsoleWechatMessageBackend"
)
# The real one, "apps.marketing.wechat.WechatSubscribeMessageBackend", sends through WeChat's
# API (WECHAT_API_BASE) as the mini-program (WECHAT_APP_ID, WECHAT_APP_SECRET); WeChat has
# this many seconds to answer; the version of the mini-program a message opens: "formal",
# "trial" or "developer".
WECHAT_MESSAGE_TIMEOUT_SECONDS = int(os.environ.get("WECHAT_MESSAGE_TIMEOUT_SECONDS", "5"))
WECHAT_MINIPROGRAM_STATE = os.environ.get("WECHAT_MINIPROGRAM_STATE", "formal")
MESSAGE_QUIET_HOURS = os.environ.get("MESSAGE_QUIET_HOURS", "21:00-08:00")
MESSAGE_CAPS = os.environ.get("MESSAGE_CAPS", "sms=1/3,wechat=2/5,inbox=3/10,all=3/10")
MESSAGE_MAX_ATTEMPTS = int(os.environ.get("MESSAGE_MAX_ATTEMPTS", "5"))
MESSAGE_RETRY_SECONDS = int(os.environ.get("MESSAGE_RETRY_SECONDS", "60"))
MESSAGE_SEND_LEASE_SECONDS = int(os.environ.get("MESSAGE_SEND_LEASE_SECONDS", "600"))

# Orders: growth value per whole yuan paid; what a refund keeps back for earned points the
# member already spent ("cash": their value at POINTS_DEDUCTION_RATE, or "none").
GROWTH_PER_YUAN = int(os.environ.get("GROWTH_PER_YUAN", "1"))
REFUND_SPENT_POINTS = os.environ.get("REFUND_SPENT_POINTS", "cash")
# Mini-program orders: minutes to pay before coupons and points are released; the gateway.
ORDER_PAY_MINUTES = int(os.environ.get("ORDER_PAY_MINUTES", "15"))
# The mall shows "only a few left" for a SKU with this many or fewer to sell.
MALL_LOW_STOCK = int(os.environ.get("MALL_LOW_STOCK", "5"))


# Attribution of members to promoters (apps/members/attribution.py): "first" (the first
# touch binds for good), "protected" (for PROMOTER_PROTECT_DAYS, then another touch may
# bind) or "last" (each new touch binds); how long a binding credits (0: for good); whether
# a touch binds a member who joined before it.
PROMOTER_BINDING = os.environ.get("PROMOTER_BINDING", "first")
PROMOTER_PROTECT_DAYS = int(os.environ.get("PROMOTER_PROTECT_DAYS", "30"))
PROMOTER_BINDING_DAYS = int(os.environ.get("PROMOTER_BINDING_DAYS", "0"))
PROMOTER_BIND_EXISTING = env_bool("PROMOTER_BIND_EXISTING", default=True)
# The same rule, with its own settings, binds a member's guide and home store. A guide binds
# only members of the guide's store; a home store never ends, and by default the first
# store binds for good (a later scan never moves a member).
GUIDE_BINDING = os.environ.get("GUIDE_BINDING", "first")
GUIDE_PROTECT_DAYS = int(os.environ.get("GUIDE_PROTECT_DAYS", "30"))
GUIDE_BINDING_DAYS = int(os.environ.get("GUIDE_BINDING_DAYS", "0"))
GUIDE_BIND_EXISTING = env_bool("GUIDE_BIND_EXISTING", default=True)
HOME_STORE_BINDING = os.environ.get("HOME_STORE_BINDING", "first")
HOME_STORE_PROTECT_DAYS = int(os.environ.get("HOME_STORE_PROTECT_DAYS", "30"))
HOME_STORE_BIND_EXISTING = env_bool("HOME_STORE_BIND_EXISTING", default=True)
# Distribution (分销, apps/referrals): who may promote — "approval" (members apply, HQ or a
# store approves), "everyone", or "spend" (members who have paid PROMOTER_SPEND_THRESHOLD
# yuan or more); one or two commission levels; whether a promoter earns on their own
# purchases; whether the part of an order paid with points earns commission; how many days
# a commission stays frozen (the return window) before it is available.
PROMOTER_ENROLMENT = os.environ.get("PROMOTER_ENROLMENT", "approval")
PROMOTER_SPEND_THRESHOLD = Decimal(os.environ.get("PROMOTER_SPEND_THRESHOLD", "0"))
COMMISSION_LEVELS = int(os.environ.get("COMMISSION_LEVELS", "2"))
COMMISSION_SELF_PURCHASE = env_bool("COMMISSION_SELF_PURCHASE", default=False)
COMMISSION_ON_POINTS = env_bool("COMMISSION_ON_POINTS", default=False)
# Whether an order that credits no promoter earns its guide (by role a promoter of their store).
COMMISSION_GUIDES = env_bool("COMMISSION_GUIDES", default=True)
COMMISSION_FROZEN_DAYS = int(os.environ.get("COMMISSION_FROZEN_DAYS", str(POINTS_PENDING_DAYS)))
# Withdrawals of commissions: the smallest, the fee (a percentage of what is withdrawn), the
# most a promoter may withdraw a day, how many withdrawals a day (0: no limit); the payout
# backend (a sandbox by default; empty: payouts off, as a production site must until a real
# backend exists).
WITHDRAWAL_MIN = Decimal(os.environ.get("WITHDRAWAL_MIN", "1.00"))
WITHDRAWAL_FEE_PERCENT = Decimal(os.environ.get("WITHDRAWAL_FEE_PERCENT", "0"))
WITHDRAWAL_DAILY_MOST = Decimal(os.environ.get("WITHDRAWAL_DAILY_MOST", "0"))
WITHDRAWAL_DAILY_COUNT = int(os.environ.get("WITHDRAWAL_DAILY_COUNT", "0"))
PAYOUT_BACKEND = os.environ.get("PAYOUT_BACKEND", "apps.referrals.payouts.SandboxPayoutBackend")
# The mini-program's page where a member confirms receipt of a withdrawal WeChat Pay awaits
# their confirmation for (wx.requestMerchantTransfer, with GET me/withdrawals' confirmation):
# the member web centre, opened in the mini-program's web-view, leads there (empty: never).
MINIPROGRAM_WITHDRAWALS_PAGE = os.environ.get(
    "MINIPROGRAM_WITHDRAWALS_PAGE", "/pages/promoter/withdrawals"
)

# Online orders delivered: days after shipping that a parcel the member has not said they
# received counts as received.
ORDER_RECEIVE_DAYS = int(os.environ.get("ORDER_RECEIVE_DAYS", "7"))


# Store payment (在线收款): the most a member may pay a store in one payment, in yuan.
STORE_PAY_MOST = Decimal(os.environ.get("STORE_PAY_MOST", "50000.00"))
PAYMENT_BACKEND = os.environ.get("PAYMENT_BACKEND", "apps.orders.payments.SandboxPaymentBackend")
# WeChat Pay API v3 (PAYMENT_BACKEND = "apps.orders.wechatpay.WechatPayBackend"): the merchant
# id, the app id members pay in (the mini-program's), the APIv3 key, the merchant's API
# private key (apiclient_key.pem) and its certificate's serial number, WeChat's platform key
# (a 微信支付公钥 or a platform certificate, PEM) and its id (PUB_KEY_ID_… or the serial).
WECHATPAY_MCH_ID = os.environ.get("WECHATPAY_MCH_ID", "")
WECHATPAY_APP_ID = os.environ.get("WECHATPAY_APP_ID", WECHAT_APP_ID)
WECHATPAY_APIV3_KEY = os.environ.get("WECHATPAY_APIV3_KEY", "")
WECHATPAY_PRIVATE_KEY_PATH = os.environ.get("WECHATPAY_PRIVATE_KEY_PATH", "")
WECHATPAY_CERT_SERIAL_NO = os.environ.get("WECHATPAY_CERT_SERIAL_NO", "")
WECHATPAY_PLATFORM_KEY_PATH = os.environ.get("WECHATPAY_PLATFORM_KEY_PATH", "")
WECHATPAY_PLATFORM_KEY_ID = os.environ.get("WECHATPAY_PLATFORM_KEY_ID", "")
WECHATPAY_NOTIFY_URL = os.environ.get("WECHATPAY_NOTIFY_URL", f"{SITE_URL}/api/v1/payments/notify")
WECHATPAY_API_BASE = os.environ.get("WECHATPAY_API_BASE", "https://api.mch.weixin.qq.com")
# Seconds WeChat Pay has to accept the connection, then to answer; a payment start it did not
# answer in time is 503 payment_unavailable with a Retry-After, and the order waits.
WECHATPAY_TIMEOUT_SECONDS = int(os.environ.get("WECHATPAY_TIMEOUT_SECONDS", "5"))
WECHATPAY_TRANSFER_SCENE_ID = os.environ.get("WECHATPAY_TRANSFER_SCENE_ID", "1005")

# With DEBUG off Huiji refuses to start with a stand-in (sandbox payments, console SMS, fake
# WeChat login), without REDIS_URL, or with SMS_TEST_CODES (apps/core/checks.py), unless
# HUIJI_SANDBOX says this is a staging or acceptance site, never a brand's production one.
HUIJI_SANDBOX = env_bool("HUIJI_SANDBOX", default=False)

# Whether seed_demo may run (it creates admin/demo12345): never on a production site.
DEMO_DATA_ALLOWED = env_bool("DEMO_DATA_ALLOWED", default=DEBUG)

# Django's deployment checklist (`manage.py check --deploy`). HTTPS only, told by the proxy's
# X-Forwarded-Proto; /healthz also answers a probe that reaches the app server directly.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Error reports leave out the secrets in settings and in the process environment, which
# granian hands to every request (request.META).
DEFAULT_EXCEPTION_REPORTER_FILTER = "apps.core.reporting.SecretsFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Tasks run in-process on the embedded default: their "succeeded" lines would drown the console.
    "loggers": {
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
        # A 4xx is the client's answer, not the server's trouble: a coupon drop answers
        # thousands of sold_out a second, and each would be a log line.
        "django.request": {"level": "ERROR"},
        # Its debug lines hold providers' answers, with whole phone numbers.
        "tencentcloud_sdk_common": {"level": "WARNING"},
    },
}
