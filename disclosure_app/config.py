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
    SQLITE_BUSY_TIMEOUT_SECONDS = 30

    # Scheme timescales (DOMAIN.md §6.1): configuration, not code.
    INITIAL_CHECKS_HOURS = 24
    INTERVIEW_DAYS = 10
    OVERALL_DAYS = 45
    # Minimum rank for disclose / no-disclosure decisions (DOMAIN.md §1, proposal).
    MIN_DECISION_RANK = "inspector"
    # Rationale quality checks at the moment of decision: the shortest acceptable legal limb,
    # and the share of a limb's word sequences found in another case's limb that makes it
    # boilerplate (workflows.rationale_quality).
    RATIONALE_MIN_CHARS = 80
    BOILERPLATE_OVERLAP = 0.8
    # Dip sampling: the share (per cent) of closed no-disclosure cases drawn for a second review.
    DIP_SAMPLE_PERCENT = 10
    # The risk check's checklist as [[code, label], ...]; None: workflows.checks defaults.
    CHECK_SOURCES: list[list[str]] | None = None

    # Sessions and cookies. Secure cookies are switched on for production deployments by
    # ``SESSION_COOKIE_SECURE = True`` in instance config (the local demo is served over http).
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Strict"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)

    # Request limits: the largest legitimate form is well under this.
    MAX_CONTENT_LENGTH = 256 * 1024
    MAX_FORM_MEMORY_SIZE = 256 * 1024
    MAX_FORM_PARTS = 400
    # The signed confidentiality undertaking (a scan or photo) is the one upload: its page alone
    # accepts a request this size plus MAX_FORM_MEMORY_SIZE for the form's other fields.
    UPLOAD_MAX_BYTES = 10 * 1024 * 1024

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = 4 * 3600

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

