"""``htcontent``: list, get, search, sync and export from the command line.

Exit codes: 0 ok, 1 API error (4xx/5xx), 2 usage error, 3 API unreachable.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from typing import Any

from ._client import Client
from ._errors import APIConnectionError, APIStatusError, HTContentError
from ._records import COLLECTION_ATTRIBUTES, FILTER_FIELDS, LABEL_FIELDS
from .calltypes import CallTypeMap, settings_for

COLLECTIONS = COLLECTION_ATTRIBUTES  # the client attribute of each collection
FILTERS = [*FILTER_FIELDS, "q"]


def _plain(record: Any) -> dict[str, Any]:
    data = dataclasses.asdict(record)
    data.pop("raw", None)
    return data


def _table(records: list[Any]) -> str:
    lines = []
    for record in records:
        label = getattr(record, LABEL_FIELDS.get(record.type, "id"), "")
        label = label if isinstance(label, str) else json.dumps(label, ensure_ascii=False)
        lines.append(f"{record.id:45} v{record.version:<3} {label}")
    return "\n".join(lines)


def _common(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """Options accepted before or after the subcommand (``htcontent indicators --lang es``)."""
    def default(value: Any) -> Any:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument("--base-url", default=default(None),
                        help="API address (default: $HTCONTENT_BASE_URL)")
    parser.add_argument("--api-key", default=default(None),
                        help="API key (default: $HTCONTENT_API_KEY)")
    parser.add_argument("--lang", default=default("en"), help="en, es or * (default: en)")
    parser.add_argument("--json", action="store_true", default=default(False),
                        help="JSON output instead of a table")
    parser.add_argument("--timeout", type=float, default=default(10.0),
                        help="seconds per request (default: 10)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="htcontent", description=__doc__.splitlines()[0])
    _common(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", required=True)
    shared = argparse.ArgumentParser(add_help=False)
    _common(shared, defaults=False)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_text, parents=[shared])

    for name in COLLECTIONS:
        sub = add(name, f"list {name}")
        for flt in FILTERS:
            sub.add_argument(f"--{flt.replace('_', '-')}", dest=flt)
        if name == "indicators":
            sub.add_argument("--call-type", help="one of the agency's CAD call types (with "
                                                 "--call-types)")
            sub.add_argument("--call-types", default=os.environ.get("HTCONTENT_CALL_TYPES"),
                             help="the agency's call-type mapping, CSV or YAML "
                                  "(env HTCONTENT_CALL_TYPES)")
    get = add("get", "one record")
    get.add_argument("collection", choices=list(COLLECTIONS))
    get.add_argument("id")
    search = add("search", "search every type")
    search.add_argument("q")
    sync = add("sync", "update a local SQLite mirror")
    sync.add_argument("path")
    export = add("export", "write a snapshot for offline use")
    export.add_argument("path")
    return parser


def _why_none(client: Client, table: CallTypeMap, call_type: str) -> None:
    """Say on stderr why a call type has no indicators: what it maps to, and whether the
    crosswalk maps that to any setting (an APCO code it does not cover maps to none)."""
    targets = table.targets(call_type)
    settings = settings_for(targets, client.call_types.list(lang="en", limit=200))
    why = (f"settings {', '.join(sorted(settings))}, which no indicator matches" if settings
           else "no setting: the crosswalk (/api/v1/call-types) covers none of them")
    sys.stderr.write(f"no indicators for call type {call_type}: it maps to "
                     f"{', '.join(targets)}, that is to {why}\n")


def run(args: argparse.Namespace, client: Client) -> int:
    out = sys.stdout
    if args.command in COLLECTIONS:
        filters = {f: getattr(args, f) for f in FILTERS if getattr(args, f)}
        collection = getattr(client, COLLECTIONS[args.command])
        if getattr(args, "call_type", None):
            if not args.call_types:
                raise HTContentError("--call-type needs --call-types FILE (or "
                                     "HTCONTENT_CALL_TYPES)")
            table = CallTypeMap.load(args.call_types)
            records = list(collection.for_call_type(args.call_type, mapping=table,
                                                    lang=args.lang, **filters))
            if not records:
                _why_none(client, table, args.call_type)
        else:
            records = list(collection.list(lang=args.lang, **filters))
        if args.json:
            out.write(json.dumps([_plain(r) for r in records], ensure_ascii=False, indent=2)
                      + "\n")
        else:
            guidance = (client.last_list_meta or {}).get("guidance") or []
            out.write("".join(f"! {line}\n" for line in guidance if isinstance(line, str)))
            out.write(_table(records) + "\n")
    elif args.command == "get":
        record = getattr(client, COLLECTIONS[args.collection]).get(args.id, lang=args.lang)
        out.write(json.dumps(_plain(record), ensure_ascii=False, indent=2) + "\n")
    elif args.command == "search":
        hits = client.search(args.q, lang=args.lang)
        if args.json:
            out.write(json.dumps([dataclasses.asdict(h) for h in hits], ensure_ascii=False,
                                 indent=2) + "\n")
        else:
            out.write("\n".join(f"{h.type:14} {h.id:45} {h.label}" for h in hits) + "\n")
    elif args.command == "sync":
        def progress(upserted: int, deleted: int) -> None:
            sys.stderr.write(f"\rsyncing: {upserted} upserted, {deleted} deleted")
            sys.stderr.flush()

        result = client.sync(args.path, progress=progress)
        sys.stderr.write("\n")
        out.write(f"{result.upserted} upserted, {result.deleted} deleted, "
                  f"{result.requests} request(s); token {result.token}\n")
    elif args.command == "export":
        count = client.export(args.path)
        out.write(f"wrote {count} records to {args.path}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``htcontent`` command."""
    args = build_parser().parse_args(argv)
    client = Client(args.base_url, args.api_key, lang=args.lang, timeout=args.timeout)
    try:
        return run(args, client)
    except APIConnectionError as exc:
        sys.stderr.write(f"htcontent: {exc}\n")
        return 3
    except APIStatusError as exc:
        sys.stderr.write(f"htcontent: {exc}\n")
        return 1
    except HTContentError as exc:
        sys.stderr.write(f"htcontent: {exc}\n")
        return 1
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
