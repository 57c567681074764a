"""Alembic environment: the app's metadata, and its database URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from disclosure_app import models  # noqa: F401  (registers every table on Base.metadata)
from disclosure_app.db import Base, runtime_grant_statements

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from disclosure_app import create_app  # plain `alembic` run: take the app's configuration

    return create_app().config["DATABASE_URL"]


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        {"sqlalchemy.url": _url()}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
            _grant_runtime_role(connection)


def _grant_runtime_role(connection) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL: give the app's runtime role exactly the rights it needs on every table."""
    role = config.get_main_option("runtime_role")
    if not role or connection.dialect.name != "postgresql":
        return
    from sqlalchemy import inspect, text

    tables = inspect(connection).get_table_names(schema="public")
    for statement in runtime_grant_statements(role, sorted(tables)):
        connection.execute(text(statement))


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
