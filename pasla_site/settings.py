"""Django settings for pasla, read from the environment with django-environ.

Nothing secret is hard-coded: SECRET_KEY comes from the environment or from a
0600 file generated once in the per-user data directory.
"""

from pathlib import Path

import environ

from shares.config.conf import ADMIN_BODY_MAX, limits_from_env, parse_log_level
from shares.config.deployment import normalize_prefix
from shares.errors import ConfigError
from shares.files.datadir import data_dir, private_file, secret_key
from shares.gates.admin_gate import GateConfigError, parse_admin_allow, parse_admin_path
from shares.network.addresses import parse_public_host
from shares.network.stun import DEFAULT_SERVER as DEFAULT_STUN_SERVER

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DATA_DIR = data_dir()
SECRET_KEY = env.str("SECRET_KEY", default="") or secret_key(DATA_DIR)
DEBUG = False
# Shares are reached by IP address as often as by name and no absolute URL is
# ever built from the Host header, so Host validation buys nothing here.
ALLOWED_HOSTS = env.list("PASLA_ALLOWED_HOSTS", default=["*"])

PASLA_LIMITS = limits_from_env()
try:
    PASLA_ADMIN_PATH = parse_admin_path(env.str("PASLA_ADMIN_PATH", default="admin/"))
    # Loopback (127.0.0.1, ::1) plus these networks; see shares/gates/admin_gate.py.
    PASLA_ADMIN_NETWORKS = parse_admin_allow(env.list("PASLA_ADMIN_ALLOW", default=[]))
except GateConfigError as exc:
    raise ConfigError(str(exc)) from None
PASLA_PUBLIC_HOST = env.str("PASLA_PUBLIC_HOST", default="")
parse_public_host(PASLA_PUBLIC_HOST)  # a malformed value stops every command at start
# Asked only with --public-address (see shares/network/stun.py).
PASLA_STUN_SERVER = env.str("PASLA_STUN_SERVER", default=DEFAULT_STUN_SERVER)
# A shared server (`pasla serve`): where it listens, how recipients reach it,
# and the sub-path every URL lives under (see shares/config/deployment.py).
PASLA_BIND = env.list("PASLA_BIND", default=[])
PASLA_PUBLIC_URL = env.str("PASLA_PUBLIC_URL", default="")
PASLA_URL_PREFIX = normalize_prefix(env.str("PASLA_URL_PREFIX", default=""))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "shares",
]

# Order is the order of the gates: log everything, decide who is asking,
# then allowlist -> ban -> rate limit, and only then the method check (so
# other methods are rate limited before they get their 405).
# The admin gate comes right after "who is asking": an outsider's admin
# request is turned into an unknown path and meets every gate an unknown
# path meets. Sessions, CSRF, auth and messages run for admin paths only
# (AdminOnlyMiddleware), so downloads never pay for them.
MIDDLEWARE = [
    "shares.gates.access_log.AccessLogMiddleware",
    "shares.gates.headers.SecurityHeadersMiddleware",
    "shares.gates.client.ClientIdentityMiddleware",
    "shares.gates.admin.AdminGateMiddleware",
    "shares.gates.bans.AllowlistMiddleware",
    "shares.gates.bans.BanMiddleware",
    "shares.gates.rate.RateLimitMiddleware",
    "shares.gates.methods.MethodGateMiddleware",
    "shares.gates.admin.AdminOnlyMiddleware",
]
ADMIN_MIDDLEWARE = [
    "shares.gates.admin.AdminCookiesMiddleware",
    "shares.gates.admin.AdminLoginThrottleMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

# The admin's own middleware is in ADMIN_MIDDLEWARE (run for admin paths
# only), which the admin's checks cannot see.
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410"]

ROOT_URLCONF = "pasla_site.urls"
ASGI_APPLICATION = "pasla_site.asgi.application"

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

_sqlite_default = f"sqlite:///{DATA_DIR / 'pasla.sqlite3'}"
DATABASES = {"default": env.db("DATABASE_URL", default=_sqlite_default)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    private_file(Path(DATABASES["default"]["NAME"]))
    # Executor threads keep their connection: opening one (and running the
    # pragmas below) per request was a measurable part of time to first byte.
    DATABASES["default"]["CONN_MAX_AGE"] = None
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the server read while `pasla list`/`stop` write; IMMEDIATE
        # transactions plus a busy timeout turn lock contention into waiting
        # instead of "database is locked" errors.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://pasla")}
# django-environ leaves `?key_prefix=`/`?timeout=` in lower case, where
# Django never looks: several deployments (or test runs) sharing one Redis
# keep apart by prefix only if it is really applied.
for _option in ("key_prefix", "timeout", "version"):
    if _option in CACHES["default"]:
        CACHES["default"][_option.upper()] = CACHES["default"].pop(_option)
if CACHES["default"]["BACKEND"].endswith("redis.RedisCache"):
    # A Redis that stops answering must cost a request two seconds and an
    # error, not hang it forever.
    CACHES["default"].setdefault("OPTIONS", {}).update({"socket_timeout": 2.0, "socket_connect_timeout": 2.0})
if CACHES["default"]["BACKEND"].endswith("locmem.LocMemCache"):
    # The same cache, without rebuilding and rechecking each key on every
    # call (shares/handling/local_cache.py).
    CACHES["default"]["BACKEND"] = "shares.handling.local_cache.LocalCache"
    # Rate windows and strikes are the keys here: about three per client
    # (two rate windows and a strike count), plus a remembered ban answer.
    # Past the bound the least recently used keys are culled.
    CACHES["default"].setdefault("OPTIONS", {})["MAX_ENTRIES"] = PASLA_LIMITS.max_tracked_ips * 4

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = PASLA_URL_PREFIX + "/" + PASLA_ADMIN_PATH + "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The transport refuses bigger bodies before reading them; this is the
# backstop should a body ever reach Django some other way.
DATA_UPLOAD_MAX_MEMORY_SIZE = ADMIN_BODY_MAX
FILE_UPLOAD_MAX_MEMORY_SIZE = ADMIN_BODY_MAX

# The admin's cookies are never sent with a download.
SESSION_COOKIE_PATH = PASLA_URL_PREFIX + "/" + PASLA_ADMIN_PATH
CSRF_COOKIE_PATH = PASLA_URL_PREFIX + "/" + PASLA_ADMIN_PATH
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 12 * 3600  # an operator's working day, not Django's two weeks
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SAMESITE = "Strict"
X_FRAME_OPTIONS = "DENY"

PASLA_LOG_FORMAT = env.str("PASLA_LOG_FORMAT", default="plain").strip().lower()
if PASLA_LOG_FORMAT not in ("plain", "json"):
    raise ConfigError(f"PASLA_LOG_FORMAT must be plain or json, got {PASLA_LOG_FORMAT!r}")

PASLA_LOG_LEVEL = parse_log_level(env.str("PASLA_LOG_LEVEL", default="INFO"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "shares.config.logs.RedactRequestPaths"},
        "outage": {"()": "shares.handling.outage.HideOutageTracebacks"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "shares.config.logs.JsonLines"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": PASLA_LOG_FORMAT,
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["stderr"], "level": PASLA_LOG_LEVEL},
    "loggers": {
        # Django logs every 4xx with the request path, which carries the
        # token; our own access log line replaces it.
        "django.request": {"level": "ERROR", "filters": ["outage"]},
        "daphne": {"level": "WARNING"},
    },
}
