"""Settings, all from the environment (see README, "Configuration")."""

from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from parta.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent

DEBUG = env_bool("DEBUG")
DATA_DIR = Path(env_str("PARTA_DATA_DIR", str(Path.cwd() / "data"))).resolve()

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and not env_bool("PARTA_ALLOW_DEV_SECRET"):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (DEBUG=1 allows a development key)."
        )
    SECRET_KEY = "parta-development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    # Its Swagger page then loads its scripts from Parta's static files, not from a CDN.
    "ninja",
    "parta.structure",
    "parta.accounts",
    "parta.invites",
    "parta.schools",
    "parta.realtime",
    "parta.messaging",
    "parta.roster",
    "parta.calls",
    "parta.notifications",
    "parta.monitoring",
    "parta.exchange",
    "parta.jobs",
    "parta.support",
    "parta.web",
    "parta.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Above every middleware that writes the body (the CSP nonce, CSRF), so it compresses last.
    "parta.web.middleware.PageGZipMiddleware",
    "parta.web.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "parta.web.middleware.ChosenLanguageMiddleware",
    # Before anything reads the body: an oversized one answers 413 in the chosen language.
    "parta.web.body_limit.BodyLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "parta.urls"
ASGI_APPLICATION = "parta.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "parta.web.context_processors.navigation",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or f"sqlite:///{DATA_DIR / 'parta.sqlite3'}",
        # 0 under ASGI: Django runs each request's sync code in a thread of its own, so a
        # connection kept per thread is never reused and never closed. With 60 as the
        # default, `parta serve --workers 2` ran PostgreSQL out of connections («too many
        # clients», HTTP 500) under the live-path benchmark. PostgreSQL reuses connections
        # through the pool below instead.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
# Each process keeps at most this many PostgreSQL connections (psycopg's pool, checked
# before each lending) and lends them to request threads in turn: a request's connection
# goes back at its end instead of being closed, and a burst waits for one instead of
# opening more than the server allows. 0 turns the pool off (DATABASE_CONN_MAX_AGE then
# applies, e.g. behind PgBouncer).
DATABASE_POOL_SIZE = env_int("PARTA_DB_POOL_SIZE", 10)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_POOL_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False  # the pool checks instead
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(2, DATABASE_POOL_SIZE),
        "max_size": DATABASE_POOL_SIZE,
        # A request waits this long for a connection before it fails.
        "timeout": 10,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's SQLite with this process's writers queued on a lock (parta/sqlite/base.py).
    DATABASES["default"]["ENGINE"] = "parta.sqlite"
    # WAL lets the realtime workers read while a request writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis with receives that outlast no read timeout and a pool that
            # waits instead of failing (parta/realtime/layers.py says why).
            "BACKEND": "parta.realtime.layers.RedisChannelLayer",
            # The prefix keeps two instances sharing one Redis apart (like the cache's).
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": env_str("PARTA_CHANNELS_PREFIX", "parta"),
                "socket_timeout": env_float("PARTA_REDIS_SOCKET_TIMEOUT", 15),
                "max_connections": env_int("PARTA_REDIS_MAX_CONNECTIONS", 100),
                # Messages waiting for one worker: its sockets share one queue in Redis, and
                # a post to a 500-member channel puts up to 500 there at once (the library's
                # 100 dropped the rest; tabs then waited for the catch-up).
                "capacity": 5000,
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("PARTA_CACHE_PREFIX", "parta"),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "parta.realtime.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# HTTP requests' sync work runs on threads kept between requests, at most this many idle
# (parta.asgi.RequestThreads); 0 starts one per request, as Django does. Kept on the
# embedded default, where starting and joining them was 15% of the event loop's samples;
# on PostgreSQL + Redis two alternated pairs at 50 msg/s gave 32 and 42 msg/s with kept
# threads against 37 and 47 without (a busy machine; not explained yet), so it is off there.
PARTA_KEPT_REQUEST_THREADS = env_int("PARTA_KEPT_REQUEST_THREADS", 0 if REDIS_URL else 16)

AUTH_USER_MODEL = "accounts.Person"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "accounts:sign-in"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:home"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", "Русский"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# HTTPS (README, "Configuration"). nginx terminates TLS and overwrites
# X-Forwarded-Proto with its own scheme, so that header tells Django a request was https.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("PARTA_SSL_REDIRECT")
SECURE_HSTS_SECONDS = env_int("PARTA_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("PARTA_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("PARTA_HSTS_PRELOAD")
# Joining the browsers' preload list binds every subdomain of the domain for years: the
# domain's owner decides, so `check --deploy` does not ask for it.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# How long a sign-in lasts, in seconds (14 days by default). «Чужой компьютер» at sign-in
# makes that session end when the browser closes instead (and after this age at the latest).
PARTA_SESSION_AGE = env_int("PARTA_SESSION_AGE", 14 * 24 * 60 * 60)
SESSION_COOKIE_AGE = PARTA_SESSION_AGE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts only from Parta's own static files, no
# inline code; inline styles stay allowed. parta.web.middleware adds the page's own
# ws(s):// origin to connect-src. WebRTC's STUN/TURN traffic is outside CSP.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "media-src": [SELF, "blob:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Phone sign-in (accounts.signin): the SMS backend is a dotted path to a class
# implementing parta.accounts.sms.SmsBackend.
PARTA_SMS_BACKEND = env_str("PARTA_SMS_BACKEND", "parta.accounts.sms.ConsoleSmsBackend")
PARTA_SMS_GATEWAY_URL = env_str("PARTA_SMS_GATEWAY_URL")
PARTA_SMS_GATEWAY_TOKEN = env_str("PARTA_SMS_GATEWAY_TOKEN")
PARTA_DEFAULT_PHONE_REGION = "RU"
# Sign-in codes: a code lives PARTA_SIGNIN_CODE_TTL seconds and is burnt after
# PARTA_SIGNIN_MAX_ATTEMPTS wrong tries. At most PARTA_SIGNIN_PHONE_LIMIT codes are sent
# to one phone per PARTA_SIGNIN_PHONE_WINDOW seconds and PARTA_SIGNIN_IP_LIMIT codes are
# requested from one IP address per PARTA_SIGNIN_IP_WINDOW seconds (counted in the cache).
PARTA_SIGNIN_CODE_TTL = env_int("PARTA_SIGNIN_CODE_TTL", 300)
PARTA_SIGNIN_MAX_ATTEMPTS = env_int("PARTA_SIGNIN_MAX_ATTEMPTS", 5)
PARTA_SIGNIN_PHONE_LIMIT = env_int("PARTA_SIGNIN_PHONE_LIMIT", 3)
PARTA_SIGNIN_PHONE_WINDOW = env_int("PARTA_SIGNIN_PHONE_WINDOW", 600)
PARTA_SIGNIN_IP_LIMIT = env_int("PARTA_SIGNIN_IP_LIMIT", 20)
PARTA_SIGNIN_IP_WINDOW = env_int("PARTA_SIGNIN_IP_WINDOW", 3600)
# Behind a reverse proxy, REMOTE_ADDR is the proxy: set this so the client address is
# taken from the last X-Forwarded-For entry (the one the proxy appended).
PARTA_SIGNIN_TRUST_X_FORWARDED_FOR = env_bool("PARTA_SIGNIN_TRUST_X_FORWARDED_FOR")
# Sign-in codes go only to numbers of these countries (ISO 3166 codes, comma-separated;
# e.g. "RU,KZ,BY"), so nobody can run up an SMS bill to numbers abroad.
PARTA_SIGNIN_COUNTRIES = [code.upper() for code in env_list("PARTA_SIGNIN_COUNTRIES", "RU")]

# Attachments in chats: the largest file accepted (bytes) and the longer side of the
# JPEG preview made for images (pixels), so slow links load the small one first.
PARTA_ATTACHMENT_MAX_BYTES = env_int("PARTA_ATTACHMENT_MAX_BYTES", 20971520)  # 20 MiB
PARTA_ATTACHMENT_PREVIEW_PX = env_int("PARTA_ATTACHMENT_PREVIEW_PX", 320)

# Admin-change requests (parta.support): the largest letter or order scan accepted (bytes).
PARTA_SUPPORT_UPLOAD_MAX_BYTES = env_int("PARTA_SUPPORT_UPLOAD_MAX_BYTES", 10485760)  # 10 MiB

# Invites (parta.invites): opening invite links and sending join requests are limited per
# client IP (PARTA_INVITES_IP_LIMIT) and per person (PARTA_INVITES_PERSON_LIMIT) in each
# PARTA_INVITES_WINDOW seconds, counted in the cache.
PARTA_INVITES_IP_LIMIT = env_int("PARTA_INVITES_IP_LIMIT", 30)
PARTA_INVITES_PERSON_LIMIT = env_int("PARTA_INVITES_PERSON_LIMIT", 10)
PARTA_INVITES_WINDOW = env_int("PARTA_INVITES_WINDOW", 3600)
# Personal invitations by SMS: at most this many a school sends in an hour (the rest wait).
PARTA_INVITATION_SMS_PER_HOUR = env_int("PARTA_INVITATION_SMS_PER_HOUR", 2000, minimum=1)

# Calls (parta.calls): browsers reach each other through these ICE servers. STUN URLs as
# given; TURN URLs get short-lived credentials minted from PARTA_TURN_SECRET (coturn's
# use-auth-secret / static-auth-secret), valid PARTA_TURN_TTL seconds. Empty: host only.
PARTA_ICE_STUN_URLS = env_list("PARTA_ICE_STUN_URLS")
PARTA_TURN_URLS = env_list("PARTA_TURN_URLS")
PARTA_TURN_SECRET = env_str("PARTA_TURN_SECRET")
PARTA_TURN_TTL = env_int("PARTA_TURN_TTL", 14400)
# The media path (a parta.calls.media.MediaBackend); the mesh sends video while at most
# PARTA_CALL_MESH_VIDEO_LIMIT are in the call, audio only beyond. Bitrate caps in bit/s.
PARTA_CALL_MEDIA_BACKEND = env_str("PARTA_CALL_MEDIA_BACKEND", "parta.calls.media.MeshBackend")
PARTA_CALL_MESH_VIDEO_LIMIT = env_int("PARTA_CALL_MESH_VIDEO_LIMIT", 4)
PARTA_CALL_VIDEO_BITRATE = env_int("PARTA_CALL_VIDEO_BITRATE", 250000)
PARTA_CALL_AUDIO_BITRATE = env_int("PARTA_CALL_AUDIO_BITRATE", 32000)
# A tab silent this many seconds (no heartbeat) has left the call at its last heartbeat.
PARTA_CALL_HEARTBEAT_TIMEOUT = env_int("PARTA_CALL_HEARTBEAT_TIMEOUT", 30)
# A Janus SFU for calls of a class's size (parta.calls.janus, deploy/janus/). Unset URL: no
# Janus, every call is a mesh. PARTA_JANUS_URL is Parta's way to Janus's HTTP API (loopback);
# PARTA_JANUS_PUBLIC_URL the browsers' way (nginx's /janus on Parta's own origin by default).
# The API secret is Janus's api_secret, the admin key the VideoRoom's admin_key, the token
# secret Janus's token_auth_secret (browsers' tokens, valid PARTA_JANUS_TOKEN_TTL seconds),
# the events secret the password of Janus's event handler (deploy/janus/configure writes
# them all into Janus's configuration). Calls go to Janus when they outgrow
# PARTA_CALL_MESH_VIDEO_LIMIT, start there in class chats and channels, and always with
# PARTA_JANUS_ALWAYS. A room takes up to PARTA_JANUS_ROOM_SIZE people who send media.
PARTA_JANUS_URL = env_str("PARTA_JANUS_URL")
PARTA_JANUS_PUBLIC_URL = env_str("PARTA_JANUS_PUBLIC_URL", "/janus")
PARTA_JANUS_API_SECRET = env_str("PARTA_JANUS_API_SECRET")
PARTA_JANUS_ADMIN_KEY = env_str("PARTA_JANUS_ADMIN_KEY")
PARTA_JANUS_TOKEN_SECRET = env_str("PARTA_JANUS_TOKEN_SECRET")
PARTA_JANUS_EVENTS_SECRET = env_str("PARTA_JANUS_EVENTS_SECRET")
PARTA_JANUS_TOKEN_TTL = env_int("PARTA_JANUS_TOKEN_TTL", 14400, minimum=60)
PARTA_JANUS_TIMEOUT = env_float("PARTA_JANUS_TIMEOUT", 5.0)
PARTA_JANUS_ALWAYS = env_bool("PARTA_JANUS_ALWAYS")
PARTA_JANUS_ROOM_SIZE = env_int("PARTA_JANUS_ROOM_SIZE", 128, minimum=2)
if PARTA_JANUS_URL and urlsplit(PARTA_JANUS_PUBLIC_URL).netloc:
    # Browsers that reach Janus at another origin (tests, a Janus of its own domain).
    parts = urlsplit(PARTA_JANUS_PUBLIC_URL)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["connect-src"].append(f"{parts.scheme}://{parts.netloc}")

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# SMTP in production (EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend).
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Парта <noreply@localhost>")
# Where people open Parta: links in emails are made absolute with it.
PARTA_BASE_URL = env_str("PARTA_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Weekly digests go out on Monday from this hour, local time of each region.
PARTA_DIGEST_HOUR = env_int("PARTA_DIGEST_HOUR", 7, maximum=23)

# Web Push (parta.notifications): pushes are posted only to these hosts ("*.x" for x's
# subdomains), over https; loopback alone may use plain http (a local push service).
PARTA_PUSH_ALLOWED_HOSTS = [
    host.lower()
    for host in env_list(
        "PARTA_PUSH_ALLOWED_HOSTS",
        "fcm.googleapis.com,updates.push.services.mozilla.com,*.notify.windows.com,"
        "web.push.apple.com,*.push.apple.com",
    )
]
# The VAPID private key (PEM or base64url); unset, one is made in PARTA_DATA_DIR on first use.
PARTA_VAPID_PRIVATE_KEY = env_str("PARTA_VAPID_PRIVATE_KEY")
# Whom a push service may contact about our pushes: a mailto: or https: URL.
PARTA_VAPID_SUBJECT = env_str(
    "PARTA_VAPID_SUBJECT",
    PARTA_BASE_URL if PARTA_BASE_URL.startswith("https://") else "mailto:noreply@localhost",
)
PARTA_PUSH_TIMEOUT = env_float("PARTA_PUSH_TIMEOUT", 10)

# Background jobs (each app's jobs.py, run by parta.jobs) run on huey: with REDIS_URL its
# queue is in Redis (several hosts, `parta run-jobs`); without it, in a SQLite file under
# PARTA_DATA_DIR, consumed by threads inside `parta serve`.
if REDIS_URL:
    _HUEY_STORAGE: dict[str, object] = {"huey_class": "huey.RedisHuey", "url": REDIS_URL}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    _HUEY_STORAGE = {"huey_class": "huey.SqliteHuey", "filename": str(DATA_DIR / "jobs.sqlite3")}
PARTA_JOBS_WORKERS = env_int("PARTA_JOBS_WORKERS", 2, minimum=1)
HUEY = {
    "name": env_str("PARTA_JOBS_PREFIX", "parta"),
    **_HUEY_STORAGE,
    "results": False,
    "immediate": False,
    "utc": True,
    "consumer": {
        "workers": PARTA_JOBS_WORKERS,
        "worker_type": "thread",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "parta": {"handlers": ["console"], "level": env_str("PARTA_LOG_LEVEL", "INFO")},
    },
}

# A school's list of people (roster import): the largest file accepted. A district's
# 40,000 rows are ~3 MB as CSV and ~1.5 MB as XLSX.
PARTA_ROSTER_MAX_BYTES = env_int("PARTA_ROSTER_MAX_BYTES", 20 * 2**20)
