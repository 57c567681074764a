"""Configuration defaults. Secrets never live here: they come from ``instance/config.py`` or the
environment (``DISCLOSURE_SECRET_KEY``, ``DISCLOSURE_DATABASE_URL`` or plain ``DATABASE_URL``)."""

from __future__ import annotations

from datetime import timedelta


class DefaultConfig:
    # Branding: the force's own service, never GOV.UK's crown or typeface.
    FORCE_NAME = "Northshire Police"
    SERVICE_NAME = "Child sex offender disclosure scheme"
    FORCE_PHONE_NON_EMERGENCY = "101"

    # Database: SQLite in the instance folder unless DATABASE_URL says otherwise.
    DATABASE_URL: str | None = None
    # PostgreSQL least privilege: migrations connect as the owner, the app as a runtime role.
    MIGRATION_DATABASE_URL: str | None = None
    DATABASE_RUNTIME_ROLE: str | None = None
    # How long a request may wait for a database lock (SQLite: its turn to write; PostgreSQL:
    # lock_timeout) before it gets the 503 "Nothing was saved", everything typed kept.
    DATABASE_LOCK_WAIT_SECONDS = 5

    # Scheme timescales (DOMAIN.md §6.1): configuration, not code. Day targets count working
    # days (Monday to Friday less bank holidays and closure days) or calendar days.
    INITIAL_CHECKS_HOURS = 24
    INTERVIEW_DAYS = 10
    ASSESSMENT_DAYS = 28
    OVERALL_DAYS = 45
    TARGET_DAYS = "working"  # or "calendar"
    # Whose bank holidays: "england_and_wales", "scotland" or "northern_ireland".
    BANK_HOLIDAY_NATION = "england_and_wales"
    LOCAL_TIMEZONE = "Europe/London"
    # Near breach: this many working days or fewer left (None: NEAR_BREACH_SHARE of the period
    # left, which is also the rule for the 24-hour initial checks).
    NEAR_BREACH_WORKING_DAYS: int | None = 2
    NEAR_BREACH_SHARE = 0.2
    # Extensions (DOMAIN.md §9.3 #24): who may authorise one, and how far past the current
    # target (calendar days) one may go.
    MIN_EXTENSION_RANK = "sergeant"
    EXTENSION_MAX_DAYS = 30
    # Supervisors assign and reassign work and are told when their team's cases near breach.
    SUPERVISOR_MIN_RANK = "sergeant"
    # The breach forecast (workflows.forecast): below this many closed cases its stated priors
    # fill in; a case is flagged "likely to breach" at this probability; refitted this often.
    FORECAST_MIN_SAMPLE = 30
    FORECAST_ALERT_PROBABILITY = 0.5
    FORECAST_REFIT_HOURS = 24
    FORECAST_HISTORY_CASES = 5000
    # Minimum rank for disclose / no-disclosure decisions (DOMAIN.md §1, proposal).
    MIN_DECISION_RANK = "inspector"
    # Who supervises (assigns and reassigns cases, moves caseloads, arranges cover): a case
    # officer or decision-maker of at least this rank.
    SUPERVISOR_MIN_RANK = "sergeant"
    # Rationale quality checks at the moment of decision: the shortest acceptable legal limb,
    # and the share of a limb's word sequences found in another case's limb that makes it
    # boilerplate (workflows.rationale_quality).
    RATIONALE_MIN_CHARS = 80
    BOILERPLATE_OVERLAP = 0.8
    # Dip sampling: the share (per cent) of closed no-disclosure cases drawn for a second review.
    DIP_SAMPLE_PERCENT = 10
    # The risk check's checklist as [[code, label], ...]; None: workflows.checks defaults.
    CHECK_SOURCES: list[list[str]] | None = None

    # Production is the default: a deployment that forgets to say what it is gets every check
    # (disclosure_app.security.production). `make run` and the tests set PRODUCTION = False.
    PRODUCTION = True

    # Sessions and cookies (SECURITY.md SEC-09 … SEC-13). Production forces the `__Host-` name
    # and Secure; the local demo is served over http, so those are configuration here.
    SESSION_COOKIE_NAME = "session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Strict"
    SESSION_COOKIE_SECURE = False
    SESSION_COOKIE_PATH = "/"
    # 15 minutes idle, 12 hours at most (ASVS 4.0.3 V3.3.2 for L3 with MFA): a staff member
    # signs in about once a shift; no "remember me" exists.
    STAFF_IDLE_MINUTES = 15
    STAFF_ABSOLUTE_HOURS = 12
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)
    # Step-up: a fresh code within this many minutes before a sensitive action.
    STEP_UP_MINUTES = 5

    # Sign-in (SEC-05): per account, 5 failures in 15 minutes lock it for 15 minutes (doubling
    # for each lock in a row, up to an hour); per client address, the rate limits below.
    LOCKOUT_FAILURES = 5
    LOCKOUT_WINDOW_MINUTES = 15
    LOCKOUT_MINUTES = 15
    # Concurrent Argon2 verifies per host (None: cores - 1) and how long a sign-in waits for one.
    PASSWORD_HASH_SLOTS: int | None = None
    PASSWORD_HASH_SLOT_DIR: str | None = None
    PASSWORD_HASH_WAIT_SECONDS = 3
    # TOTP secrets are encrypted with this Fernet key (instance config or environment; required
    # in production). Older keys in the fallbacks still decrypt, for rotation.
    TOTP_ENCRYPTION_KEY: str | None = None
    TOTP_ENCRYPTION_KEY_FALLBACKS: list[str] = []

    # Personal data at rest (disclosure_app.privacy): the key store holding each case's data key
    # (default: a SQLite file beside the SQLite database, or instance/keystore.sqlite), the
    # directory of key-encryption keys (default: instance/kek), and how long a host keeps an
    # opened data key (a key destroyed elsewhere stops working here within this time).
    KEYSTORE_URL: str | None = None
    KEK_DIR: str | None = None
    KEY_CACHE_SECONDS = 300
    # MoPI retention (workflows.retention): per outcome ("disclosure", "no_disclosure",
    # "not_progressed") any of {"label", "mopi_group", "review_years"}; None keeps the defaults
    # (10 years for a disclosure, 6 for the others). Reviews records managers miss are listed
    # as overdue; nothing is ever disposed of without a recorded review.
    RETENTION_SCHEDULE: dict[str, dict[str, object]] | None = None
    # Form keys (replay protection) older than this are purged by `flask records dispose`.
    SUBMISSION_KEY_DAYS = 30

    # Rate limits (Flask-Limiter; counts live in the database unless RATELIMIT_STORAGE_URI
    # names e.g. Redis). Per client address unless marked global.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI: str | None = None
    RATELIMIT_SIGN_IN = "30 per minute; 300 per hour"
    # The public side (SEC-29). One address is often many people: a refuge's or a library's
    # shared computers, a school or council network, a mobile network's carrier-grade NAT. A
    # low per-address limit walls them all out after a handful of genuine applications (5 an
    # hour did, and lost answers), so it is set for a busy shared address, not one person:
    # tens an hour. What stops automation is the rest: the honeypot, the signed minimum fill
    # time, the session-bound CSRF token, the one-time submission key (a resend stores
    # nothing new) and the global cap below, which bounds the total whatever the addresses.
    # A refused sender keeps every answer and is told when to try again (errors.py).
    RATELIMIT_APPLY = "30 per hour; 200 per day"
    RATELIMIT_APPLY_GLOBAL = "300 per hour; 2000 per day"
    # Status links are unguessable secrets (256 bits): this limit is about load, not guessing,
    # and a refuge's residents share it.
    RATELIMIT_STATUS = "60 per minute; 1000 per day"
    # Protective monitoring (SEC-32a): this many authorisation denials by one person within ten
    # minutes raise a misuse alert.
    MISUSE_DENIALS_ALERT = 21
    # Public form anti-automation (SEC-29): seconds between showing the form and submitting it.
    PUBLIC_FORM_MIN_FILL_SECONDS = 3

    # Hosts and proxies (SEC-27, SEC-28). TRUSTED_HOSTS is required in production; set
    # PROXY_FIX_X_FOR to the exact number of proxies in front of the app (0: none).
    TRUSTED_HOSTS: list[str] | None = None
    PROXY_FIX_X_FOR = 0
    PROXY_FIX_X_PROTO = 0

    # Request limits: the largest legitimate form is well under this.
    MAX_CONTENT_LENGTH = 256 * 1024
    PUBLIC_MAX_CONTENT_LENGTH = 64 * 1024
    MAX_FORM_MEMORY_SIZE = 256 * 1024
    MAX_FORM_PARTS = 400
    # The signed confidentiality undertaking (a scan or photo) is the one upload: its page alone
    # accepts a request this size plus MAX_FORM_MEMORY_SIZE for the form's other fields.
    UPLOAD_MAX_BYTES = 10 * 1024 * 1024

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = 4 * 3600

    # E-mail to staff about their notifications (disclosure_app.notifications.mail). SMTP when
    # MAIL_SERVER is set (STARTTLS on by default: never sent in clear over a network); outside
    # production without it, each message is written as an .eml file to MAIL_OUTBOX_DIR
    # (default <instance>/outbox, shown at /dev/outbox); in production without it, no e-mail:
    # notifications are shown in the app only, and /healthz says "email": "off".
    # MAIL_PASSWORD comes from instance/config.py or DISCLOSURE_MAIL_PASSWORD, never from here.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 587
    MAIL_USE_TLS = True
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_FROM = "disclosure-scheme@northshire.police.example"
    MAIL_TIMEOUT_SECONDS = 10
    MAIL_OUTBOX_DIR: str | None = None
    # The staff side's address, for the links in e-mails (required in production with SMTP).
    STAFF_BASE_URL: str | None = None
    NOTIFICATIONS_PAGE_SIZE = 25

    QUEUE_PAGE_SIZE = 25
    AUDIT_PAGE_SIZE = 50

    # The decision log's signed checkpoints (SECURITY.md SEC-34). The web app holds only the
    # PUBLIC key (its text, or a file holding it); the private key is handed to
    # `flask audit checkpoint --key-file` by a separate account and never configured here.
    AUDIT_LOG_ORIGIN = "northshire.police.example/disclosure-audit"
    AUDIT_PUBLIC_KEY: str | None = None
    AUDIT_PUBLIC_KEY_FILE: str | None = None
    AUDIT_CHECKPOINT_EVERY_ENTRIES = 1000
    AUDIT_CHECKPOINT_EVERY_MINUTES = 60
    # Directories each new checkpoint is copied to (a DPO mailbox drop, a witness's inbox).
    AUDIT_CHECKPOINT_COPY_DIRS: tuple[str, ...] = ()

    # Misuse alerts on the auditor's console (SECURITY.md SEC-32a; ICO logging guidance).
    ALERT_BULK_CONSULTATIONS = 50  # distinct cases one person opens ...
    ALERT_BULK_WINDOW_MINUTES = 60  # ... within this window
    ALERT_DENIALS = 20  # authorisation denials one person gets ...
    ALERT_DENIAL_WINDOW_MINUTES = 10  # ... within this window
    ALERT_LOOKBACK_DAYS = 7  # how far back the console looks unless told otherwise

