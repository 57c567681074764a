"""``flask --app disclosure_app …``: db, seed-demo, create-user, workflow-diagram, audit."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from disclosure_app.context import now
from disclosure_app.db import get_session
from disclosure_app.services import audit, users
from disclosure_app.services.audit import SystemActor
from disclosure_app.services.errors import InputInvalid
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

    @audit_group.command("verify")
    def audit_verify() -> None:
        """Recompute the whole hash chain; exit 1 naming the first bad entry."""
        result = audit.verify_chain(get_session())
        click.echo(result.summary())
        sys.exit(0 if result.ok else 1)

    app.cli.add_command(audit_group)

    @app.cli.command("workflow-diagram")
    def workflow_diagram() -> None:
        """Print the workflow as a Mermaid state diagram, grouped by stage."""
        from workflows.diagram import mermaid

        click.echo(mermaid(), nl=False)

    @app.cli.command("create-user")
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

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Create one demo account per role and about ten demo cases, through the real workflow."""
        from disclosure_app.demo import seed

        seed(get_session(), echo=click.echo)
