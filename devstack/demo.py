"""`make demo`: an agency enrols a missing person, a citizen uploads a sighting, the agency gets the alert."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from facetrace.case import Agency
from devstack.system import LocalSystem
from facetrace.config import Settings
from devstack.users import AgencyUser, Citizen

STEPS = 6


def say(step: int | None, text: str) -> None:
    """Progress for the person watching the demo."""
    prefix = f"[{step}/{STEPS}] " if step else "      "
    sys.stdout.write(prefix + text + "\n")
    sys.stdout.flush()


def demo_photos(workdir: Path) -> tuple[list[Path], Path, str]:
    """Reference photos and a sighting of one person: the shared fixtures if present, else scikit-image's."""
    data = os.environ.get("FACETRACE_TEST_DATA")
    people = Path(data) / "fixtures" / "people" if data else None
    if people and (people / "labels.csv").is_file():
        files = [line.split(",")[0] for line in (people / "labels.csv").read_text().splitlines()[1:]
                 if line.endswith(",person01")]
        return [people / f for f in files[:2]], people / files[3], "the shared fixture photos of person01"
    return _astronaut(workdir) + ("scikit-image's astronaut photo (sighting: a re-framed, mirrored copy)",)


def _astronaut(workdir: Path) -> tuple[list[Path], Path]:
    import cv2
    from skimage import data

    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    reference = workdir / "reference.jpg"
    cv2.imwrite(str(reference), image)
    # A different framing, size, exposure and orientation of the same face, on a wider canvas.
    crop = cv2.flip(image[20:330, 90:330], 1)
    crop = cv2.convertScaleAbs(cv2.resize(crop, None, fx=0.8, fy=0.8), alpha=0.85, beta=20)
    canvas = cv2.copyMakeBorder(crop, 80, 120, 160, 60, cv2.BORDER_CONSTANT, value=(90, 110, 80))
    sighting = workdir / "sighting.jpg"
    cv2.imwrite(str(sighting), canvas)
    return [reference], sighting


def run(system: LocalSystem, workdir: Path) -> tuple[bool, str]:
    """The demo's story: whether the alert for the right case reached the agency's inbox, and the agency's id."""
    references, sighting, source = demo_photos(workdir)
    say(3, f"Face worker ready: pack {system.worker.engine.model.name} ({system.worker.engine.model.dim}-d) on "
           f"{', '.join(system.worker.engine.providers)}; API at {system.gateway.url}")
    agency = Agency(name="Demo County Police", email="missing-persons@police.example")
    system.store.add_agency(agency)
    officer = AgencyUser(system.gateway.url, agency.id)
    say(None, f"Web portal: {system.gateway.url}/portal/ (agency page: sign in with agency id {agency.id})")
    say(None, f"Outbox (e-mails and text messages sent): {system.gateway.url}/outbox")
    case = officer.open_case(person_name="Alex Example", age=34, sex="F", last_seen_place="Central Station",
                             last_seen_at="2026-11-20T18:30:00Z", notes="demo case")
    photo_ids = [officer.add_reference_photo(case["id"], path) for path in references]
    say(4, f"{agency.name} opened case {case['id']} for {case['person_name']} with {len(photo_ids)} reference photo(s) "
           f"from {source}")
    system.run_until(lambda: all(system.store.get_photo(p) and system.store.get_photo(p).status.value != "received"
                                 for p in photo_ids), timeout_s=120)
    for pid in photo_ids:
        photo = system.store.get_photo(pid)
        if photo is None:
            say(None, f"reference {pid[:8]}: never arrived")
            continue
        say(None, f"reference {pid[:8]}: {photo.status.value}, {photo.face_count} face(s)"
                  + (f" - {photo.reason}" if photo.reason else ""))
    started = time.monotonic()
    receipt = Citizen(system.gateway.url).report_sighting(sighting, place="Harbour Street market, Springfield",
                                                          taken_at="2026-11-25T14:05:00Z", lat=44.0462, lon=-123.022)
    say(5, f"A citizen uploaded a sighting over HTTP through a presigned POST; receipt {receipt}")
    system.run_until(lambda: bool(system.emails()), timeout_s=120)
    elapsed = time.monotonic() - started
    return _report(system, case, receipt, elapsed), agency.id


def _report(system: LocalSystem, case: dict, receipt: str, elapsed: float) -> bool:
    alerts = system.store.list_alerts(case["id"])
    photo = system.store.get_photo(receipt)
    if not alerts or not system.emails():
        say(6, f"NO ALERT: sighting status {photo.status.value if photo else 'not recorded'} "
               f"{photo.reason or '' if photo else ''}")
        return False
    alert = alerts[0]
    say(6, f"Alert raised and delivered {elapsed:.1f} s after the upload:")
    for line in (f"case:   {alert.case_id} ({case['person_name']})", f"score:  {alert.score:.3f} ({alert.model_name})",
                 f"where:  {photo.place} ({photo.lat}, {photo.lon})", f"when:   {photo.taken_at.isoformat()}",
                 f"status: {alert.status.value} (awaiting human review)"):
        say(None, line)
    system.drain()
    for d in system.store.deliveries_of(alert.id):
        say(None, f"delivery: {d['channel']} to {d['recipient']}: {d['status']} ({d['provider_id'] or d['error']})")
    email = system.emails()[-1]
    sys.stdout.write(f"\n--- e-mail received by SES ---\nFrom: {email.source}\nTo: {', '.join(email.to)}\n"
                     f"Subject: {email.subject}\n\n{email.body}\n------------------------------\n")
    return alert.case_id == case["id"]


def keep_serving(system: LocalSystem, agency_id: str | None = None) -> None:
    """Leave the stack running so a person can try the portal (`make serve`); `make demo` always exits."""
    stop = system.run_in_background()
    sys.stdout.write(serving_notes(system.gateway.url, system.db_url, agency_id))
    sys.stdout.flush()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()


def serving_notes(gateway_url: str, db_url: str, agency_id: str | None) -> str:
    """What a person trying the portal needs: where it is, how to sign in, and the database to onboard into."""
    demo = f" (the demo agency: {agency_id})" if agency_id else ""
    return (f"\nThe portal stays up at {gateway_url}/portal/ ; press Ctrl-C to stop (the database is then dropped).\n"
            f"  Agency pages: {gateway_url}/portal/agency.html, sign in with an agency id{demo}.\n"
            f"  Outbox (the e-mails and text messages sent): {gateway_url}/outbox\n"
            f"  Database: {db_url}\n"
            f"  Register another agency, then sign in with the id it prints:\n"
            f"    .venv/bin/facetrace agency-add --name 'Harbour Police' --email duty@harbour.example --db-url '{db_url}'\n"
            f"  List them: .venv/bin/facetrace agency-list --db-url '{db_url}'\n")


def main() -> int:
    """Run the demo end to end and shut down what it started."""
    say(1, "Finding MySQL (FACETRACE_DB_URL, a local server, or a private MariaDB) and applying migrations")
    # The best measured pack (buffalo_s), from FACETRACE_MODEL_DIR, the shared test models, the cache or PyPI;
    # the worker falls back to dlib, saying why, when none of them has its files.
    model_dir = os.environ.get("FACETRACE_MODEL_DIR") or os.environ.get("FACETRACE_TEST_MODELS")
    system = LocalSystem(pack=os.environ.get("FACETRACE_PACK", Settings().pack), model_dir=model_dir)
    system.start()
    say(2, f"Local AWS (moto) at {system.stack.endpoint} with the template's bucket, "
           f"{len(system.stack.resources('AWS::SQS::Queue'))} queues and {len(system.stack.resources('AWS::SNS::Topic'))} topics")
    try:
        with tempfile.TemporaryDirectory() as workdir:
            ok, agency_id = run(system, Path(workdir))
        if os.environ.get("FACETRACE_DEMO_SERVE") == "1":
            keep_serving(system, agency_id)
    finally:
        system.stop()
    sys.stdout.write(("Demo finished: the agency received the alert.\n" if ok else "Demo FAILED.\n"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
