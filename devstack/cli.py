"""`facetrace`: operator commands (schema migrations, agencies) and the local demo."""

from __future__ import annotations

import argparse
import os
import sys

from facetrace.adapters.mysql import MySQLStore
from facetrace.case import Agency
from facetrace.config import Settings
from facetrace.db.migrate import migrate
from facetrace.retention import purge
from facetrace.wiring import Wiring


def _db_url(args: argparse.Namespace) -> str:
    url = args.db_url or os.environ.get("FACETRACE_DB_URL")
    if not url:
        sys.exit("facetrace: give --db-url or set FACETRACE_DB_URL (mysql://user:password@host:port/database)")
    return url


def _migrate(args: argparse.Namespace) -> int:
    applied = migrate(_db_url(args))
    sys.stdout.write(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}\n")
    return 0


def _agency_add(args: argparse.Namespace) -> int:
    agency = Agency(name=args.name, email=args.email, phone=args.phone)
    MySQLStore.from_url(_db_url(args)).add_agency(agency)
    sys.stdout.write(f"agency {agency.id} created; give its staff the Cognito attribute custom:agency_id={agency.id}\n")
    return 0


def _purge(args: argparse.Namespace) -> int:
    # Bucket, region and retention come from the FACETRACE_* environment, as in the functions.
    settings = Settings(db_url=_db_url(args))
    wiring = Wiring(settings)
    report = purge(wiring.store, wiring.objects, settings.retention_days, limit=args.limit)
    sys.stdout.write(f"erased {report.references} reference photo(s) and {report.sightings} sighting(s)\n")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from devstack.demo import main as demo

    return demo()


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    root = argparse.ArgumentParser(prog="facetrace", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)
    m = sub.add_parser("migrate", help="apply pending schema migrations")
    m.add_argument("--db-url")
    m.set_defaults(run=_migrate)
    a = sub.add_parser("agency-add", help="register an agency that owns cases and receives alerts")
    a.add_argument("--name", required=True)
    a.add_argument("--email", required=True)
    a.add_argument("--phone")
    a.add_argument("--db-url")
    a.set_defaults(run=_agency_add)
    p = sub.add_parser("purge", help="erase reference photos of closed cases after their grace period, and "
                       "sightings without a confirmed match after FACETRACE_RETENTION_DAYS")
    p.add_argument("--limit", type=int, default=1000, help="at most this many photos of each kind per run")
    p.add_argument("--db-url")
    p.set_defaults(run=_purge)
    d = sub.add_parser("demo", help="run the local end-to-end demo")
    d.set_defaults(run=_demo)
    _add_evaluation(sub)
    return root


def _add_evaluation(sub) -> None:
    """`eval` and `protocol` (issue #3) when the face engine package is installed alongside."""
    try:
        from evaluation.cli import add_commands  # light: heavy imports happen when run
    except ImportError:
        return
    add_commands(sub)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `facetrace` console script."""
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
