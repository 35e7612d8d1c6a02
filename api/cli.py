"""Command line: `flask --app api db upgrade`, `... seed`, `... renditions`, `... openapi`,
`... content check`, `... review`, `... keys`, `... webhooks work`, `... widget releases`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from api.storage import db as database
from api.web.auth import SCOPES

db_cli = AppGroup("db", help="Database migrations.")


@db_cli.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create or migrate the database to REVISION."""
    database.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION (``base`` empties it)."""
    database.downgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@click.command("seed")
@with_appcontext
@click.option("--path", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Directory of seed files (default: seed/).")
@click.option("--quiet", is_flag=True, help="Print only the summary.")
def seed_command(directory: Path | None, quiet: bool) -> None:
    """Load the seed content; unchanged records are left alone, changed ones get a new version."""
    from seed.loader import SeedError, load_seed

    directory = directory or Path(current_app.config["SEED_DIR"])
    try:
        report = load_seed(database.session(), directory,
                           progress=None if quiet else click.echo)
    except SeedError as exc:
        click.echo(f"Seed refused; nothing was loaded. {len(exc.problems)} problem(s):", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    click.echo(f"seed: {report.summary()}")
    _refresh_renditions(quiet, report_nothing=False)


def _refresh_renditions(quiet: bool, report_nothing: bool = True) -> None:
    from api.storage import renditions
    from api.storage.publish import lock_writes

    session = database.session()
    # Serialized with writers. No new data version: a stale rendition is rendered on read with
    # this same code, so what readers get does not change.
    lock_writes(session)
    done = renditions.refresh(session, progress=None if quiet else lambda n, total: click.echo(
        f"renditions: {n}/{total} versions rendered"))
    session.commit()
    if done or report_nothing:
        click.echo(f"renditions: {done} version(s) rendered again")


@click.command("renditions")
@with_appcontext
@click.option("--quiet", is_flag=True, help="Print only the summary.")
def renditions_command(quiet: bool) -> None:
    """Render the published versions whose stored renditions are missing or were made by other
    code (after a deploy that changes what records look like). Run by `flask seed` too."""
    _refresh_renditions(quiet)


@click.command("openapi")
@click.option("--check", is_flag=True, help="Exit 1 if openapi.yaml differs from the code.")
def openapi_command(check: bool) -> None:
    """Write openapi.yaml from the code (routes, schemas, parameters)."""
    from api.web.openapi import OPENAPI_PATH, render_yaml

    text = render_yaml()
    if check:
        if OPENAPI_PATH.read_text(encoding="utf-8") != text:
            click.echo("openapi.yaml is out of date: run `flask --app api openapi`", err=True)
            sys.exit(1)
        click.echo("openapi.yaml is up to date")
        return
    OPENAPI_PATH.write_text(text, encoding="utf-8")
    click.echo(f"wrote {OPENAPI_PATH}")


content_cli = AppGroup("content", help="The content rules beyond the schemas.")


@content_cli.command("check")
@with_appcontext
@click.option("--seed", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Check these seed files instead of the database.")
def content_check(directory: Path | None) -> None:
    """Check every record that is not retired against the content rules (schemas/checks.py);
    exit 1, naming each problem, when one breaks a rule."""
    from sqlalchemy import select

    from api.storage.models import Record
    from schemas.checks import check
    from seed.loader import SeedError, read_seed

    if directory is not None:
        try:
            records = read_seed(directory)
        except SeedError as exc:
            raise click.ClickException("\n".join(exc.problems)) from exc
    else:
        rows = database.session().scalars(select(Record).where(Record.status != "retired")
                                          .order_by(Record.id))
        records = [(row.type, row.content) for row in rows]
    findings = check(records)
    for finding in findings:
        click.echo(f"  {finding}", err=True)
    click.echo(f"content check: {len(records)} record(s), {len(findings)} problem(s)")
    if findings:
        sys.exit(1)


@click.command("review")
@with_appcontext
def review_command() -> None:
    """Print the review queue: every published record to check now (its check ran out, never
    checked, unverified, disputed, or a change waiting for approval), oldest first; restricted
    records included. For a scheduled mail."""
    from api.services import review
    from api.storage import clock, proposals

    session = database.session()
    items = review.queue(session, ("public", "law_enforcement"), clock.utcnow().date(),
                         proposals.pending_records(session))
    labels = review.labels(session, items)
    click.echo(f"{'REVIEW DUE':11} {'TYPE':14} {'ID':44} REASONS")
    for item in items:
        click.echo(f"{item.review_due or 'never':11} {item.record_type:14} "
                   f"{item.record_id:44} {', '.join(item.reasons)}")
        click.echo(f"{'':11} {labels.get(item.record_id, '')[:100]}")
    click.echo(f"{len(items)} record(s) to check")


keys_cli = AppGroup("keys", help="API keys: create, list, revoke.")


@keys_cli.command("create")
@click.option("--name", required=True, help="Who holds the key (shown in the audit trail).")
@click.option("--scope", "scopes", multiple=True,
              type=click.Choice(SCOPES),
              help="A scope to grant; repeat for several. None: a read-only key.")
def keys_create(name: str, scopes: tuple[str, ...]) -> None:
    """Create a key and print it once; only its hash is stored."""
    from api.web.auth import create_key

    try:
        new = create_key(database.session(), name, list(scopes))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(new.key)
    click.echo(f"created key {new.name!r} with scopes: {', '.join(new.scopes) or '(none)'}; "
               "it is shown only this once", err=True)


@keys_cli.command("list")
def keys_list() -> None:
    """List keys (names, prefixes, scopes, state); never the keys themselves."""
    from sqlalchemy import select

    from api.storage.models import ApiKey

    rows = database.session().scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id))
    click.echo(f"{'NAME':24} {'PREFIX':14} {'SCOPES':32} {'CREATED':20} STATE")
    for key in rows:
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        click.echo(f"{key.name:24} {key.prefix:14} {','.join(key.scopes) or '-':32} "
                   f"{key.created_at:%Y-%m-%d %H:%M:%S}  {state}")


@keys_cli.command("revoke")
@click.argument("name_or_prefix")
def keys_revoke(name_or_prefix: str) -> None:
    """Revoke a key by its name or prefix; it is refused (401) from then on."""
    from api.web.auth import revoke_key

    found = revoke_key(database.session(), name_or_prefix)
    if found is None:
        raise click.ClickException(f"no key named or prefixed {name_or_prefix!r}")
    click.echo(f"revoked key {found.name!r}")


webhooks_cli = AppGroup("webhooks", help="Webhook delivery.")


@webhooks_cli.command("work")
@click.option("--threads", type=click.IntRange(1, 256), default=None,
              help="Delivery threads (default: HTCONTENT_WEBHOOKS_THREADS, 8).")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--metrics-port", type=click.IntRange(1, 65535), default=None,
              envvar="HTCONTENT_WEBHOOKS_METRICS_PORT",
              help="Serve this worker's Prometheus metrics on this port (all interfaces).")
def webhooks_work(threads: int | None, once: bool, metrics_port: int | None) -> None:
    """Deliver webhooks until stopped (SIGTERM or Ctrl-C finish the delivery in flight).

    Run as many as you like on PostgreSQL (they share the work; one event is never sent by
    two at once); on SQLite one process delivers, and others wait their turn."""
    import signal
    import threading

    from api.services import workers

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        deliverer = workers.deliverer_for(app, 1)
        with workers.turn(app) as mine:
            if not mine:
                raise click.ClickException("another process delivers webhooks for this "
                                           "SQLite database")
            steps = 0
            while deliverer.step():
                steps += 1
        click.echo(f"webhooks: {steps} step(s) done, nothing more due")
        return
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port)
        click.echo(f"webhooks: metrics on :{metrics_port}/metrics", err=True)
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    workers.work(app, stop, threads, say=lambda line: click.echo(f"webhooks: {line}",
                                                                   err=True))
    click.echo("webhooks: stopped", err=True)


@click.command("widget-releases")
@click.option("--record", is_flag=True,
              help="Record each release file not yet in releases.json, dated today (a "
                   "recorded release is never changed).")
def widget_releases(record: bool) -> None:
    """The widget's releases: version, Subresource Integrity hash, size, gzipped size. Exits
    1 when a released file changed since it was recorded."""
    import json
    from datetime import UTC, datetime

    from api.web import embed

    path = embed.FILES / "releases.json"
    try:
        published = embed.read_recorded() if path.exists() else {}
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    today = datetime.now(UTC).date()
    changed = []
    for version, body in sorted(embed.on_disk().items(), key=lambda item: embed.Release(
            item[0], b"", today).key()):
        release = embed.Release(version, body, today)
        entry = published.get(version)
        if entry is not None and entry["integrity"] != release.integrity:
            changed.append(version)
        mark = ("" if entry and entry["integrity"] == release.integrity
                else "  CHANGED SINCE RELEASE: not served" if entry else "  (not recorded)")
        click.echo(f"{version}  {release.integrity}  {len(body)} B  "
                   f"{release.gzip_size} B gzipped{mark}")
        if record and entry is None:
            published[version] = {"integrity": release.integrity, "published": today.isoformat()}
    if record:
        path.write_text(json.dumps(published, indent=2) + "\n", encoding="utf-8")
        click.echo(f"wrote {path}")
    if changed:
        raise click.ClickException(f"changed after release: {', '.join(changed)} (a change "
                                   "is a new file with a new version)")


def init_app(app: Flask) -> None:
    app.cli.add_command(widget_releases)
    app.cli.add_command(webhooks_cli)
    app.cli.add_command(keys_cli)
    app.cli.add_command(content_cli)
    app.cli.add_command(review_command)
    app.cli.add_command(db_cli)
    app.cli.add_command(seed_command)
    app.cli.add_command(renditions_command)
    app.cli.add_command(openapi_command)
