"""`facetrace`: operator commands (schema migrations, agencies, purge, re-embedding after a model change) and the
local demo."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

from facetrace.adapters.mysql import MySQLStore
from facetrace.config import Settings
from facetrace.db.migrate import migrate
from facetrace.reembed import (CampaignConflict, CampaignIncomplete, NoCampaign, Progress, campaign_progress,
                               cancel_campaign, finish_campaign, start_campaign)
from facetrace.onboarding import AgencyRequest, register_agency
from facetrace.retention import purge
from facetrace.wiring import Wiring

DB_URL_HELP = ("the database, mysql://user:password@host:port/database (default: $FACETRACE_DB_URL; "
               "`make serve` prints the local one)")


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
    request = AgencyRequest(name=args.name, email=args.email, phone=args.phone)
    agency = register_agency(MySQLStore.from_url(_db_url(args)), request, args.operator)
    sys.stdout.write(f"agency {agency.id} created; give its staff the Cognito attribute custom:agency_id={agency.id}\n"
                     f"locally, sign in to the portal's agency pages with the agency id {agency.id}\n")
    return 0


def _agency_list(args: argparse.Namespace) -> int:
    for agency in MySQLStore.from_url(_db_url(args)).list_agencies():
        sys.stdout.write(f"{agency.id}  {agency.name}  <{agency.email}>\n")
    return 0


def _purge(args: argparse.Namespace) -> int:
    # Bucket, region and retention come from the FACETRACE_* environment, as in the functions.
    settings = Settings(db_url=_db_url(args))
    wiring = Wiring(settings)
    report = purge(wiring.store, wiring.objects, settings.retention_days, limit=args.limit)
    sys.stdout.write(f"erased {report.references} reference photo(s) and {report.sightings} sighting(s)\n")
    return 0


def _reembed_wiring(args: argparse.Namespace) -> Wiring:
    # Bucket, jobs queue, region and retention come from the FACETRACE_* environment, as in the functions.
    return Wiring(Settings(db_url=_db_url(args)))


def _reembed_start(args: argparse.Namespace) -> int:
    wiring = _reembed_wiring(args)
    if not wiring.settings.jobs_queue_url:
        sys.exit("facetrace: set FACETRACE_JOBS_QUEUE_URL (the stack's jobs queue) and FACETRACE_UPLOAD_BUCKET")
    try:
        report = start_campaign(wiring.reembed(), args.model)
    except CampaignConflict as exc:
        sys.stderr.write(f"facetrace: {exc}\n")
        return 2
    c = report.campaign
    verb = "started" if report.created else "resumed"
    sys.stdout.write(f"campaign {c.id} to {c.target_model} {verb}: queued {report.references} reference photo(s) "
                     f"and {report.sightings} sighting(s) (all told {c.references_queued} and {c.sightings_queued})\n")
    return 0


def _reembed_status(args: argparse.Namespace) -> int:
    wiring = _reembed_wiring(args)
    try:
        progress = campaign_progress(wiring.store, wiring.settings.retention_days)
    except NoCampaign as exc:
        sys.stderr.write(f"facetrace: {exc}\n")
        return 1
    if args.json:
        sys.stdout.write(json.dumps(_progress_json(progress), default=str, indent=2) + "\n")
    else:
        sys.stdout.write(describe(progress))
    return 0


def _reembed_finish(args: argparse.Namespace) -> int:
    wiring = _reembed_wiring(args)
    try:
        report = finish_campaign(wiring.reembed(), accept_losses=args.accept_losses)
    except NoCampaign as exc:
        sys.stderr.write(f"facetrace: {exc}\n")
        return 1
    except CampaignIncomplete as exc:
        sys.stderr.write("facetrace: not finished, the old embeddings are kept:\n"
                         + "".join(f"  - {b}\n" for b in exc.blockers) + describe(exc.progress))
        return 2
    sys.stdout.write(f"campaign {report.campaign.id} to {report.campaign.target_model} finished: erased "
                     f"{report.erased_faces} embedding(s) of other models and the gallery snapshot(s) of "
                     f"{', '.join(report.snapshots_deleted) or 'none'}; unset FACETRACE_PREVIOUS_PACK on the worker\n")
    return 0


def _reembed_cancel(args: argparse.Namespace) -> int:
    wiring = _reembed_wiring(args)
    try:
        campaign = cancel_campaign(wiring.store)
    except NoCampaign as exc:
        sys.stderr.write(f"facetrace: {exc}\n")
        return 1
    sys.stdout.write(f"campaign {campaign.id} to {campaign.target_model} cancelled; nothing was erased\n")
    return 0


def describe(progress: Progress) -> str:
    """The campaign's progress as an operator reads it."""
    c = progress.campaign
    state = (f"finished {c.completed_at:%Y-%m-%d %H:%M:%S}Z" if c.completed_at else
             f"cancelled {c.cancelled_at:%Y-%m-%d %H:%M:%S}Z" if c.cancelled_at else "running")
    lines = [f"campaign {c.id} to {c.target_model}: {state}, started {c.started_at:%Y-%m-%d %H:%M:%S}Z "
             f"(jobs queued: {c.references_queued} reference photo(s), {c.sightings_queued} sighting(s))"]
    for name, cov in (("reference photos of open cases", progress.references), ("sightings within retention", progress.sightings)):
        lines.append(f"{name}: {cov.covered} of {cov.in_scope} embedded by {c.target_model}; {cov.queued} queued, "
                     f"{cov.failed} failed, {cov.not_queued} never queued")
    for f in progress.failures:
        case = f" of case {f.case_id}" if f.case_id else ""
        lines.append(f"  failed: {f.kind.value} {f.photo_id}{case} at {f.stage} ({f.attempts} attempt(s)): {f.reason}")
    lost = ", ".join(progress.cases_without_reference) or "none"
    lines.append(f"open cases without a usable reference face of {c.target_model}: {lost}")
    if c.completed_at is None and c.cancelled_at is None:
        blockers = progress.blockers()
        lines.append("ready to finish" if not blockers else "not ready to finish: " + "; ".join(blockers))
    return "\n".join(lines) + "\n"


def _progress_json(progress: Progress) -> dict:
    return {"campaign": progress.campaign.model_dump(mode="json"),
            "references": dataclasses.asdict(progress.references), "sightings": dataclasses.asdict(progress.sightings),
            "failures": [{**dataclasses.asdict(f), "kind": f.kind.value} for f in progress.failures],
            "cases_without_reference": progress.cases_without_reference, "blockers": progress.blockers(),
            "complete": progress.complete}


def _demo(args: argparse.Namespace) -> int:
    from devstack.demo import main as demo

    return demo()


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    root = argparse.ArgumentParser(prog="facetrace", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)
    m = sub.add_parser("migrate", help="apply pending schema migrations")
    m.add_argument("--db-url", help=DB_URL_HELP)
    m.set_defaults(run=_migrate)
    a = sub.add_parser("agency-add", help="register an agency that owns cases and receives alerts (audited); in "
                       "AWS use the stack's OnboardFunction instead (README, Deploying to AWS)")
    a.add_argument("--name", required=True, help="the agency's name, as its staff and other agencies see it")
    a.add_argument("--email", required=True, help="the address that receives its alerts when it subscribed none")
    a.add_argument("--phone", help="a contact number (E.164, e.g. +41791234567); optional")
    a.add_argument("--operator", default=os.environ.get("USER") or "operator",
                   help="who registers it, for the audit trail (default: $USER)")
    a.add_argument("--db-url", help=DB_URL_HELP)
    a.set_defaults(run=_agency_add)
    ls = sub.add_parser("agency-list", help="list the registered agencies: id, name and alert address")
    ls.add_argument("--db-url", help=DB_URL_HELP)
    ls.set_defaults(run=_agency_list)
    p = sub.add_parser("purge", help="erase reference photos of closed cases after their grace period, and "
                       "sightings without a confirmed match after FACETRACE_RETENTION_DAYS (in AWS the admin "
                       "function does it daily)")
    p.add_argument("--limit", type=int, default=1000, help="at most this many photos of each kind per run")
    p.add_argument("--db-url", help=DB_URL_HELP)
    p.set_defaults(run=_purge)
    _add_reembed(sub)
    d = sub.add_parser("demo", help="run the local end-to-end demo (`make serve` keeps it up for the portal)")
    d.set_defaults(run=_demo)
    _add_evaluation(sub)
    return root


def _add_reembed(sub) -> None:
    r = sub.add_parser("reembed", help="after a model change: embed every open case's references and recent "
                       "sightings with the new model, follow it, then erase the old embeddings")
    commands = r.add_subparsers(dest="reembed", required=True)
    start = commands.add_parser("start", help="start (or resume) the campaign to a model and queue what it must "
                                "still cover (retries failed photos)")
    start.add_argument("--model", required=True, help="the new model's name, as the worker logs it at start "
                       "('model pack loaded'), e.g. scrfd500m-mbf or dlib-resnet-v1")
    status = commands.add_parser("status", help="where the campaign stands: covered, queued, failed, missing")
    status.add_argument("--json", action="store_true", help="print the progress as JSON, for scripts")
    finish = commands.add_parser("finish", help="erase every embedding of another model; refused while anything "
                                 "is missing")
    finish.add_argument("--accept-losses", action="store_true", help="finish although reference photos failed or "
                        "cases are left without a usable reference face (they are listed)")
    cancel = commands.add_parser("cancel", help="end the running campaign and erase nothing (a wrong model named, "
                                 "or the change rolled back)")
    for command, run in ((start, _reembed_start), (status, _reembed_status), (finish, _reembed_finish),
                         (cancel, _reembed_cancel)):
        command.add_argument("--db-url", help=DB_URL_HELP)
        command.set_defaults(run=run)


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
