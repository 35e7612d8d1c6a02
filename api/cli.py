"""Command line: `flask --app api db upgrade`, `... seed`, `... openapi`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from . import db as database

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


@click.command("openapi")
@click.option("--check", is_flag=True, help="Exit 1 if openapi.yaml differs from the code.")
def openapi_command(check: bool) -> None:
    """Write openapi.yaml from the code (routes, schemas, parameters)."""
    from .openapi import OPENAPI_PATH, render_yaml

    text = render_yaml()
    if check:
        if OPENAPI_PATH.read_text(encoding="utf-8") != text:
            click.echo("openapi.yaml is out of date: run `flask --app api openapi`", err=True)
            sys.exit(1)
        click.echo("openapi.yaml is up to date")
        return
    OPENAPI_PATH.write_text(text, encoding="utf-8")
    click.echo(f"wrote {OPENAPI_PATH}")


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(seed_command)
    app.cli.add_command(openapi_command)
