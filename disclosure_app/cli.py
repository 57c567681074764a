"""``flask --app disclosure_app …``: db, seed-demo, create-user, workflow-diagram, audit, backup,
restore, notifications."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from disclosure_app.audit import chain as audit
from disclosure_app.audit.chain import SystemActor
from disclosure_app.core.errors import InputInvalid
from disclosure_app.db import get_session
from disclosure_app.security import accounts as users
from disclosure_app.web.context import case_policy, letterhead, now
from workflows.roles import Agency, Rank, Role


def alembic_config():  # type: ignore[no-untyped-def]
    from alembic.config import Config

    from disclosure_app import PROJECT_ROOT

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    # Migrations run as the schema owner when a separate owner URL is configured (PostgreSQL
    # least privilege); the runtime role named in DATABASE_RUNTIME_ROLE is then granted access.
    url = current_app.config.get("MIGRATION_DATABASE_URL") or current_app.config["DATABASE_URL"]
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.set_main_option("runtime_role", current_app.config.get("DATABASE_RUNTIME_ROLE") or "")
    return cfg


def upgrade_database(revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(), revision)


READ_ONLY_HELP = ("Exit status 3: the service is read-only after a restore from an older "
                  "backup (`flask audit acknowledge-restore`); nothing was saved.")


def register_cli(app: Flask) -> None:
    db_group = AppGroup("db", help="Database schema (Alembic migrations).")

    @db_group.command("upgrade")
    @click.argument("revision", default="head")
    def db_upgrade(revision: str) -> None:
        """Migrate the database up to REVISION (default: the newest)."""
        upgrade_database(revision)
        click.echo(f"Database at {revision}.")

    @db_group.command("downgrade")
    @click.argument("revision")
    def db_downgrade(revision: str) -> None:
        """Migrate the database down to REVISION ('base' removes every table)."""
        from alembic import command

        command.downgrade(alembic_config(), revision)
        click.echo(f"Database at {revision}.")

    @db_group.command("current")
    def db_current() -> None:
        """Show the database's current revision."""
        from alembic import command

        command.current(alembic_config())

    app.cli.add_command(db_group)

    audit_group = AppGroup("audit", help="The tamper-evident decision log.")

    _verify_command(audit_group)
    _register_durability_commands(app, audit_group)
    from disclosure_app.audit import cli as audit_cli

    audit_cli.register(audit_group)
    app.cli.add_command(audit_group)
    app.cli.add_command(_register_group())

    @app.cli.command("workflow-diagram")
    def workflow_diagram() -> None:
        """Print the workflow as a Mermaid state diagram, grouped by stage."""
        from workflows.diagram import mermaid

        click.echo(mermaid(), nl=False)

    @app.cli.command("create-user", epilog=READ_ONLY_HELP)
    @click.option("--email", required=True)
    @click.option("--name", "full_name", required=True)
    @click.option("--role", type=click.Choice([r.value for r in Role if r is not Role.applicant]),
                  required=True)
    @click.option("--rank", type=click.Choice([r.name for r in Rank]), default=None)
    @click.option("--agency", type=click.Choice([a.value for a in Agency]), default=None)
    def create_user(email: str, full_name: str, role: str, rank: str | None,
                    agency: str | None) -> None:
        """Create a staff account and print its one-time password."""
        password = users.generate_password()
        try:
            user = users.create_user(
                get_session(),
                users.NewUser(email=email, full_name=full_name, role=Role(role),
                              rank=Rank.parse(rank), agency=Agency(agency) if agency else None),
                password,
                by=SystemActor(name="create-user command"),
                now=now(),
            )
        except InputInvalid as exc:
            raise click.ClickException("; ".join(exc.errors.values())) from exc
        click.echo(f"Created {user.role.label} {user.email}. Password (shown once): {password}")

    @app.cli.command("create-first-admin")
    @click.option("--email", required=True)
    @click.option("--name", "full_name", required=True)
    def create_first_admin(email: str, full_name: str) -> None:
        """Create the first administrator (only while no account exists) and print a one-time
        password. At first sign-in they set up their authenticator, then a new password."""
        try:
            user, password = users.create_first_admin(get_session(), email, full_name, now=now())
        except InputInvalid as exc:
            raise click.ClickException("; ".join(exc.errors.values())) from exc
        click.echo(f"Created administrator {user.email}. One-time password (shown once; it "
                   f"must be changed at first sign-in): {password}")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Create one demo account per role and about ten demo cases, through the real workflow.
        Refused under the production configuration: demo accounts have printed credentials."""
        from disclosure_app.operations.demo import seed

        if current_app.config.get("PRODUCTION"):
            raise click.ClickException(
                "Refusing to seed demo accounts under the production configuration "
                "(PRODUCTION is on). Demo data is for `make run` only.")
        seed(get_session(), echo=click.echo, policy=case_policy(), letterhead=letterhead(),
             cipher=current_app.extensions["totp_cipher"])

    from disclosure_app.decisions.cli import register_cli as register_dip_sample_cli

    register_dip_sample_cli(app)
    from disclosure_app.clocks.cli import register_cli as register_clocks_cli

    register_clocks_cli(app)
    from disclosure_app.notifications.cli import register_cli as register_notifications_cli

    register_notifications_cli(app)
    from disclosure_app.privacy.cli import register_cli as register_keys_cli

    register_keys_cli(app)
    from disclosure_app.records.cli import register_cli as register_records_cli

    register_records_cli(app)
    _explain_read_only(app.cli)


def _explain_read_only(command: click.Command) -> None:
    """Every command that writes ends with a clear message and exit status 3, not a traceback,
    when the service is read-only after a restore from an older backup (integrity.py)."""
    from disclosure_app.audit.cli import read_only_exit
    from disclosure_app.audit.integrity import ReadOnlyMode

    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _explain_read_only(sub)
        return
    callback = command.callback
    if callback is None:
        return

    @functools.wraps(callback)
    def explained(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except ReadOnlyMode as exc:
            read_only_exit(exc, "Nothing was saved.")

    command.callback = explained


def _verify_command(audit_group: AppGroup) -> None:
    from disclosure_app.audit.cli import EXIT_BROKEN, EXIT_OK, read_only_exit

    @audit_group.command("verify", epilog=(
        "Exit status: 0 the log is intact and agrees with every signed checkpoint; 1 it does "
        "not (the first bad entry is named); 2 a usage error; 3 the log is intact but the "
        "service is read-only after a restore from an older backup, so this run could not be "
        "recorded (`flask audit acknowledge-restore`). A broken log exits 1 even when "
        "read-only."))
    @click.option("--tail", type=click.IntRange(min=1), default=None,
                  help="Only the newest N entries (what start-up checks; no checkpoints).")
    def audit_verify(tail: int | None) -> None:
        """Recompute the whole hash chain and check it against every signed checkpoint, those
        stored and the copies in AUDIT_CHECKPOINT_COPY_DIRS (their signatures too, when
        AUDIT_PUBLIC_KEY is set); exit 1 naming the first bad entry."""

        from disclosure_app.audit import checkpoints
        from disclosure_app.audit.integrity import ReadOnlyMode

        config = current_app.config
        session = get_session()
        result = (audit.verify_chain(session, public_key=config.get("AUDIT_PUBLIC_KEY"),
                                     copy_dirs=config["AUDIT_CHECKPOINT_COPY_DIRS"])
                  if tail is None else audit.verify_tail(session, tail))
        session.rollback()
        click.echo(result.summary())
        try:
            checkpoints.record_verification(session, result,
                                            scope="full" if tail is None else "tail",
                                            by="audit verify", now=now())
        except ReadOnlyMode as exc:
            session.rollback()
            if result.ok:
                read_only_exit(exc, "The verification above was not recorded.")
            click.echo(f"(Not recorded: {exc.message})", err=True)
        sys.exit(EXIT_OK if result.ok else EXIT_BROKEN)


# --- The offender register ---------------------------------------------------------------------

# Files at least this large show a progress bar while they are checked and written.
PROGRESS_FROM_BYTES = 1_000_000


def _register_group() -> AppGroup:
    group = AppGroup("register", help="The local offender register (the risk check's records).")

    @group.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def register_import(file: Path) -> None:
        """Import FILE (JSON Lines, one person a line): all or nothing. A person already held
        (same person_id) is updated. Bad lines are listed and nothing is imported."""
        from disclosure_app.risk.register.importer import ImportRefused, check_lines, write_records

        at = now()
        size = file.stat().st_size
        show = size >= PROGRESS_FROM_BYTES
        try:
            with file.open("rb") as handle, click.progressbar(
                length=size, label="Checking", file=sys.stderr, hidden=not show
            ) as bar:
                checked = check_lines(handle, today=at.date(), progress=bar.update)
        except ImportRefused as refused:
            for error in refused.errors:
                click.echo(str(error), err=True)
            if refused.total > len(refused.errors):
                click.echo(f"… and {refused.total - len(refused.errors)} more.", err=True)
            raise click.ClickException(
                f"{refused.total} bad line(s) in {file.name}: nothing was imported.") from None
        with click.progressbar(length=len(checked.records), label="Importing",
                               file=sys.stderr, hidden=not show) as bar:
            result = write_records(get_session(), checked, file_name=file.name, now=at,
                                   actor=SystemActor(name="register import"),
                                   progress=bar.update)
        click.echo(f"Imported {file.name}: {result.created} people added, {result.updated} "
                   f"updated ({result.lines} lines, SHA-256 {result.sha256[:16]}…).")

    return group


# --- Backups, restores and reconciliation (SECURITY.md) --------------------------------


def _record_head(app: Flask, source: str) -> tuple[bool, str]:
    """Write the current chain head to CHAIN_HEAD_RECORD unless writes are paused (after an
    acknowledged restore the record moves to the new history's head, even if that is lower)."""
    from disclosure_app.audit import integrity

    path = integrity.record_path(app)
    if path is None:
        return True, "No CHAIN_HEAD_RECORD configured: chain head not recorded."
    session = get_session()
    state = integrity.reconciliation(session.connection(), path)
    session.rollback()
    if state.needed:
        return False, f"{state.message} The recorded chain head was left unchanged."
    integrity.write_record(path, state.db_seq, state.db_hash, source)
    return True, f"Recorded chain head: entry {state.db_seq} in {path}."


def _register_durability_commands(app: Flask, audit_group: AppGroup) -> None:
    @audit_group.command("record-head")
    def record_head() -> None:
        """Record the newest chain head outside the database (CHAIN_HEAD_RECORD). A later
        restore that lost entries after it makes the app read-only until acknowledged."""
        ok, message = _record_head(current_app, "record-head")
        click.echo(message, err=not ok)
        sys.exit(0 if ok else 1)

    @audit_group.command("acknowledge-restore")
    @click.option("--admin", "admin_email", required=True, help="Your admin account's email.")
    @click.option("--reason", required=True, help="Why entries after the backup are missing.")
    def acknowledge_restore(admin_email: str, reason: str) -> None:
        """Explain a gap after a restore; the explanation becomes a log entry, and writes resume."""
        _acknowledge_restore(admin_email, reason)

    @app.cli.command("backup")
    @click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
    def backup_command(directory: Path) -> None:
        """Back the database up into DIRECTORY (new or empty), with a checked manifest."""
        _backup(directory)

    @app.cli.command("restore")
    @click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @click.option("--into", "target", required=True,
                  help="A new SQLite file, or the URL of an empty PostgreSQL database "
                       "(connect as its owner).")
    @click.option("--runtime-role", default=None,
                  help="PostgreSQL role to grant the app's rights to (default: "
                       "DATABASE_RUNTIME_ROLE).")
    def restore_command(directory: Path, target: str, runtime_role: str | None) -> None:
        """Restore DIRECTORY into a fresh location, then verify the chain and row counts."""
        _restore(directory, target, runtime_role)


def _acknowledge_restore(admin_email: str, reason: str) -> None:
    from sqlalchemy import select

    from disclosure_app.audit import integrity
    from disclosure_app.audit.chain import Category
    from disclosure_app.db import transaction
    from disclosure_app.models import User

    reason = reason.strip()
    if not 10 <= len(reason) <= 1000:
        raise click.ClickException("Give a reason of 10 to 1,000 characters.")
    session = get_session()
    admin = session.scalars(select(User).where(User.email == admin_email.strip().lower())).first()
    if admin is None or admin.role is not Role.admin or not admin.active:
        raise click.ClickException(f"{admin_email} is not an active admin account.")
    path = integrity.record_path(current_app)
    state = integrity.reconciliation(session.connection(), path)
    if not state.needed:
        raise click.ClickException("Nothing to acknowledge: the log contains the recorded "
                                   "chain head.")
    record = state.record
    if record is None:
        raise click.ClickException(f"{state.message} Repair or restore {path} first.")
    lost = max(0, record.seq - state.db_seq)
    session.info[integrity.BYPASS] = True
    try:
        with transaction(session):
            entry = audit.append(
                session, now=now(), actor=admin.as_actor(),
                action=integrity.RESTORE_ACKNOWLEDGED, category=Category.erasure,
                details={"recorded_seq": record.seq, "recorded_hash": record.entry_hash,
                         "recorded_at": record.recorded_at, "restored_seq": state.db_seq,
                         "restored_hash": state.db_hash, "entries_lost": lost,
                         "reason": reason})
    finally:
        session.info.pop(integrity.BYPASS, None)
    entries = "1 entry" if lost == 1 else f"{lost} entries"
    click.echo(f"Recorded as entry {entry.seq}: {entries} after the restored backup acknowledged "
               "as lost. Writes resume.")
    click.echo(_record_head(current_app, "acknowledge-restore")[1])


def _backup(directory: Path) -> None:
    from disclosure_app.operations import backup

    url = current_app.config.get("MIGRATION_DATABASE_URL") or current_app.config["DATABASE_URL"]
    try:
        manifest = backup.backup(url, directory, pg_bin=current_app.config.get("PG_BIN_DIR"))
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = sum(manifest.row_counts.values())
    click.echo(f"Backed up {rows} rows in {len(manifest.row_counts)} tables "
               f"({manifest.data_bytes:,} bytes) to {directory} in {manifest.seconds:.1f} s; "
               f"chain head: entry {manifest.chain_head_seq}.")
    if not manifest.chain_verified:
        click.echo("WARNING: the decision log in this backup does not verify "
                   "(run `flask audit verify`).", err=True)
        sys.exit(1)
    ok, message = _record_head(current_app, f"backup {directory.name}")
    click.echo(message if ok else f"WARNING: {message}", err=not ok)


def _restore(directory: Path, target: str, runtime_role: str | None) -> None:
    from disclosure_app.audit import integrity
    from disclosure_app.operations import backup

    role = runtime_role or current_app.config.get("DATABASE_RUNTIME_ROLE")
    try:
        report = backup.restore(directory, target, runtime_role=role,
                                pg_bin=current_app.config.get("PG_BIN_DIR"))
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Restored {directory} into {report.target} in {report.seconds:.1f} s.")
    click.echo(report.chain_summary)
    for problem in report.problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    if not report.ok:
        sys.exit(1)
    rows = sum(report.manifest.row_counts.values())
    click.echo(f"Row counts match the backup ({rows} rows in "
               f"{len(report.manifest.row_counts)} tables).")
    try:
        record = integrity.read_record(integrity.record_path(current_app))
    except integrity.RecordUnreadable:
        record = None
    if record and record.seq > report.manifest.chain_head_seq:
        click.echo(f"Note: the newest recorded chain head is entry {record.seq}; this backup "
                   f"ends at {report.manifest.chain_head_seq}. An app on it starts read-only "
                   "until an admin runs `flask audit acknowledge-restore`.")
