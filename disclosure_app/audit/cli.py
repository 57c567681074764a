"""``flask audit keygen | checkpoint | export | prove | alerts``: the commands that make the
decision log verifiable outside the app (SECURITY.md SEC-34, §3.3)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from disclosure_app.audit import chain as audit
from disclosure_app.audit import checkpoints
from disclosure_app.audit.integrity import ReadOnlyMode
from disclosure_app.db import get_session
from disclosure_app.web.context import now

# Exit codes of the audit commands (documented in each command's --help).
EXIT_OK = 0
EXIT_BROKEN = 1  # the log does not verify: tampered, truncated or rewritten
EXIT_READ_ONLY = 3  # the service is in read-only reconciliation mode: nothing was written
EXIT_CODES_HELP = ("Exit status: 0 done; 1 the decision log does not verify (the first bad "
                   "entry is named); 2 a usage error; 3 the service is read-only after a "
                   "restore from an older backup (`flask audit acknowledge-restore`), so "
                   "nothing was written.")


def read_only_exit(exc: ReadOnlyMode, what: str) -> None:
    """A clear message instead of a traceback, and its own exit status."""
    click.echo(f"READ-ONLY: {exc.message} {what}", err=True)
    sys.exit(EXIT_READ_ONLY)


def register(audit_group: AppGroup) -> None:
    _key_commands(audit_group)
    _checkpoint_command(audit_group)
    _demo_command(audit_group)
    _export_commands(audit_group)


def _demo_command(audit_group: AppGroup) -> None:
    @audit_group.command("demo-checkpoint", epilog=EXIT_CODES_HELP)
    def demo_checkpoint() -> None:
        """DEMO ONLY (`make run`): make a demo key pair in the instance folder on first use
        and sign a checkpoint of the demo log whenever it has new entries, so that an auditor's
        offline check can be tried. Refused in production."""
        config = current_app.config
        if config.get("PRODUCTION"):
            raise click.ClickException("Refusing to make or use a DEMO signing key under the "
                                       "production configuration (PRODUCTION is on): use "
                                       "`flask audit keygen` and `flask audit checkpoint`.")
        directory = checkpoints.demo_key_dir(config, current_app.instance_path)
        try:
            signer, made = checkpoints.ensure_demo_keys(directory, config["AUDIT_LOG_ORIGIN"])
        except (checkpoints.SigningKeyInvalid, OSError) as exc:
            raise click.ClickException(str(exc)) from exc
        public = directory / checkpoints.DEMO_PUBLIC_FILE
        if made:
            click.echo(f"DEMO: made a demo signing key pair: {public} (public) and "
                       f"{directory / checkpoints.DEMO_PRIVATE_FILE} (private; demo only).")
        configured = (config.get("AUDIT_PUBLIC_KEY") or "").strip()
        if configured and configured != signer.verifier_key:
            raise click.ClickException("AUDIT_PUBLIC_KEY is another key: the demo key does not "
                                       "sign for this app.")
        session = get_session()
        last = checkpoints.newest(session)
        size = checkpoints.chain_length(session)
        if last is not None and last.tree_size >= size:
            behind = checkpoints.behind_newest(session)
            session.rollback()
            if behind is not None:
                click.echo(f"NOT SIGNED: {behind.summary()}", err=True)
                sys.exit(EXIT_BROKEN)
            click.echo(f"DEMO: the newest checkpoint already covers all {size} entries.")
            return
        try:
            done = checkpoints.create_checkpoint(session, signer, origin=config["AUDIT_LOG_ORIGIN"],
                                                 now=now())
        except (checkpoints.ChainBroken, checkpoints.InconsistentHistory,
                checkpoints.SigningKeyInvalid) as exc:
            session.rollback()
            click.echo(f"NOT SIGNED: {exc}", err=True)
            sys.exit(EXIT_BROKEN)
        click.echo(f"DEMO: signed a checkpoint of {done.checkpoint.tree_size} entries with the "
                   "demo key. Try the auditor's offline check: flask --app disclosure_app audit "
                   f"export BUNDLE && python3 BUNDLE/verify.py BUNDLE --key {public}")


def _key_commands(audit_group: AppGroup) -> None:
    @audit_group.command("keygen")
    @click.option("--private", "private_path", required=True, type=click.Path(path_type=Path),
                  help="New file for the private key (mode 0600): for the signing account only.")
    @click.option("--public", "public_path", required=True, type=click.Path(path_type=Path),
                  help="New file for the public key: configure the app with it "
                       "(AUDIT_PUBLIC_KEY_FILE) and give it to the auditors.")
    def keygen(private_path: Path, public_path: Path) -> None:
        """Make the Ed25519 key pair that signs checkpoints (named after AUDIT_LOG_ORIGIN)."""
        signer = checkpoints.generate_key(current_app.config["AUDIT_LOG_ORIGIN"])
        try:
            checkpoints.write_key_files(signer, private_path, public_path)
        except FileExistsError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"Public key (publish it; auditors verify with it):\n{signer.verifier_key}")


def _checkpoint_command(audit_group: AppGroup) -> None:
    @audit_group.command("checkpoint", epilog=EXIT_CODES_HELP)
    @click.option("--key-file", required=True, envvar="AUDIT_SIGNING_KEY_FILE",
                  type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="The private key written by `audit keygen` (or AUDIT_SIGNING_KEY_FILE).")
    @click.option("--force", is_flag=True, help="Sign now even if no checkpoint is due.")
    @click.option("--copy-to", multiple=True, type=click.Path(file_okay=False, path_type=Path),
                  help="Also copy the checkpoint here (besides AUDIT_CHECKPOINT_COPY_DIRS).")
    def checkpoint(key_file: Path, force: bool, copy_to: tuple[Path, ...]) -> None:
        """Sign a checkpoint when one is due (run it every minute from cron): every
        AUDIT_CHECKPOINT_EVERY_ENTRIES entries or AUDIT_CHECKPOINT_EVERY_MINUTES minutes."""
        config = current_app.config
        try:
            signer = checkpoints.Signer.from_file(key_file)
        except checkpoints.SigningKeyInvalid as exc:
            raise click.ClickException(str(exc)) from exc
        if signer.demo and config.get("PRODUCTION"):
            raise click.ClickException(f"{key_file} is the `make run` DEMO key: refused in "
                                       "production (PRODUCTION is on).")
        session = get_session()
        at = now()
        behind = checkpoints.behind_newest(session)
        if behind is not None:
            session.rollback()
            click.echo(f"NOT SIGNED: {behind.summary()}", err=True)
            sys.exit(EXIT_BROKEN)
        due = checkpoints.is_due(session, at,
                                 every_entries=config["AUDIT_CHECKPOINT_EVERY_ENTRIES"],
                                 every_minutes=config["AUDIT_CHECKPOINT_EVERY_MINUTES"])
        last = checkpoints.newest(session)
        if not due and not (force and (last is None or last.tree_size
                                       < checkpoints.chain_length(session))):
            session.rollback()
            click.echo("No checkpoint due." if due is False and not force
                       else "No new entries since the last checkpoint.")
            return
        targets = [Path(d) for d in config["AUDIT_CHECKPOINT_COPY_DIRS"]] + list(copy_to)
        try:
            made = checkpoints.create_checkpoint(session, signer, origin=config["AUDIT_LOG_ORIGIN"],
                                                 now=at, copy_to=targets)
        except (checkpoints.ChainBroken, checkpoints.InconsistentHistory,
                checkpoints.SigningKeyInvalid) as exc:
            session.rollback()
            click.echo(f"NOT SIGNED: {exc}", err=True)
            sys.exit(EXIT_BROKEN)
        except ReadOnlyMode as exc:
            session.rollback()
            read_only_exit(exc, "No checkpoint was signed.")
        cp = made.checkpoint
        click.echo(f"Signed checkpoint of {cp.tree_size} entries (root {cp.root_hash}).")
        for path in made.copies:
            click.echo(f"Copied to {path}")


def _export_commands(audit_group: AppGroup) -> None:
    @audit_group.command("export", epilog=EXIT_CODES_HELP)
    @click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
    def export(directory: Path) -> None:
        """Write the bundle an auditor verifies offline: entries (JSON Lines), checkpoints, the
        public key and the stand-alone verifier. The log is then verified against every signed
        checkpoint: if it does not verify the bundle is still written (it is the evidence) and
        the command fails naming the first bad entry."""
        config = current_app.config
        public_key = config.get("AUDIT_PUBLIC_KEY")
        if not public_key:
            raise click.ClickException("Configure AUDIT_PUBLIC_KEY (or AUDIT_PUBLIC_KEY_FILE) "
                                       "first: the bundle must carry the public key.")
        session = get_session()
        try:
            done = checkpoints.export_bundle(session, directory, public_key=public_key,
                                             now=now(), origin=config["AUDIT_LOG_ORIGIN"])
        except FileExistsError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"Exported {done.entries} entries and {done.checkpoints} checkpoints to "
                   f"{directory}. Verify with: python3 {directory}/verify.py {directory} "
                   "--key PUBLIC-KEY-FILE")
        result = audit.verify_chain(session, public_key=public_key,
                                    copy_dirs=config["AUDIT_CHECKPOINT_COPY_DIRS"])
        session.rollback()
        if not result.ok:
            click.echo(f"THE EXPORTED LOG DOES NOT VERIFY: {result.summary()}", err=True)
            sys.exit(EXIT_BROKEN)

    @audit_group.command("prove")
    @click.argument("seq", type=click.IntRange(min=1))
    @click.option("--size", type=click.IntRange(min=1), default=None,
                  help="The checkpoint size to prove in (default: the newest covering SEQ).")
    def prove(seq: int, size: int | None) -> None:
        """Print an inclusion proof for entry SEQ (check it with verify.py --check-proof)."""
        try:
            proof = checkpoints.prove(get_session(), seq, size=size)
        except (LookupError, checkpoints.ChainBroken) as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(json.dumps(proof, indent=2))

    @audit_group.command("alerts")
    @click.option("--hours", type=click.IntRange(min=1), default=24,
                  help="How far back to look (default 24).")
    def alerts(hours: int) -> None:
        """List misuse alerts (exit 1 if there are any): for a scheduled job that mails the
        DPO or professional standards."""
        from datetime import timedelta

        from disclosure_app.audit import monitoring

        at = now()
        found = monitoring.alerts(get_session(), monitoring.settings(current_app.config),
                                  since=at - timedelta(hours=hours), until=at)
        for alert in found:
            click.echo(f"{alert.kind}\t{alert.at:%Y-%m-%d %H:%M} UTC\tuser {alert.user_id}\t"
                       f"{alert.summary}")
        click.echo(f"{len(found)} alert(s) in the last {hours} hours.", err=True)
        sys.exit(1 if found else 0)
