"""``flask --app disclosure_app keys …``: the key store's state, and rotating the key-encryption
key without downtime. Runbook: docs/operations.md, "Keys"."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from disclosure_app.audit import chain as audit
from disclosure_app.audit.chain import Category, SystemActor
from disclosure_app.db import get_session, transaction
from disclosure_app.privacy.keys import keystore
from disclosure_app.privacy.keystore import KeyStoreError
from disclosure_app.web.context import now


def register_cli(app: Flask) -> None:
    group = AppGroup("keys", help="The key store: data keys and key-encryption keys.")

    @group.command("status")
    def status_command() -> None:
        """Where the key store and the KEKs are, and how many keys each KEK wraps."""
        store = keystore()
        click.echo(f"Key store: {current_app.config['KEYSTORE_URL']}")
        click.echo(f"KEK directory: {current_app.config['KEK_DIR']}")
        click.echo(f"Live data keys: {store.live_key_count()}")
        try:
            current = store.kek_ring.current_id(create=False)
        except KeyStoreError:
            current = None
        for kek_id, count in sorted(store.kek_usage().items()):
            mark = " (current)" if kek_id == current else ""
            click.echo(f"KEK {kek_id}{mark}: wraps {count}")

    @group.command("rotate-kek")
    @click.option("--batch", default=1000, show_default=True,
                  help="Data keys rewrapped per transaction.")
    def rotate_command(batch: int) -> None:
        """Add a new KEK and rewrap every data key under it while the app keeps running; then
        copy the new KEK file to every host and retire the old one (`keys retire-kek`)."""
        new_id, moved = keystore().rotate_kek(batch=batch)
        session = get_session()
        with transaction(session):
            audit.append(session, now=now(), actor=SystemActor(name="flask keys rotate-kek"),
                         action="keys_rotated", category=Category.alteration,
                         details={"kek_id": new_id, "rewrapped": moved})
        click.echo(f"New KEK {new_id}; {moved} data keys rewrapped under it.")

    @group.command("retire-kek")
    @click.argument("kek_id")
    def retire_command(kek_id: str) -> None:
        """Delete an old KEK's file once no key is wrapped under it."""
        try:
            keystore().retire_kek(kek_id)
        except KeyStoreError as exc:
            raise click.ClickException(str(exc)) from exc
        session = get_session()
        with transaction(session):
            audit.append(session, now=now(), actor=SystemActor(name="flask keys retire-kek"),
                         action="kek_retired", category=Category.erasure,
                         details={"kek_id": kek_id})
        click.echo(f"KEK {kek_id} retired.")

    app.cli.add_command(group)
