"""`make demo-footage`: an agency enrols a missing person, uploads a clip in which she walks past twice among
strangers, follows the clip's progress, and gets one alert per appearance with its time range (issue #14)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from devstack.clips import Walker, encode_clip, lfw
from devstack.demo import _astronaut
from devstack.footage import FootageUser
from devstack.system import LocalSystem
from devstack.users import AgencyUser
from facetrace.case import Agency
from facetrace.config import Settings


def say(text: str) -> None:
    """Progress for the person watching."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def scene(workdir: Path) -> tuple[Path, list[Walker], str]:
    """The reference photo and who walks through the clip: LFW people when the shared data is here."""
    data = os.environ.get("FACETRACE_TEST_DATA")
    if data and (Path(data) / "lfw" / "Colin_Powell").is_dir():
        root = Path(data)
        walkers = [Walker(lfw(root, "Colin_Powell", 2), 1.0, 5.0), Walker(lfw(root, "Tony_Blair", 3), 4.0, 9.0, y=0.05),
                   Walker(lfw(root, "Colin_Powell", 3), 14.0, 19.0, y=0.3)]
        return lfw(root, "Colin_Powell", 1), walkers, "LFW: Colin Powell (twice) and Tony Blair (not enrolled)"
    [reference], _ = _astronaut(workdir)
    walkers = [Walker(reference, 1.0, 5.0, scale=0.9), Walker(reference, 14.0, 19.0, y=0.3, scale=0.9)]
    return reference, walkers, "scikit-image's astronaut photo, twice (a smoke test, not an accuracy claim)"


def run(system: LocalSystem, workdir: Path) -> bool:
    """Enrol, upload the clip, follow it, and print the appearances and alerts; True when the person was found."""
    reference, walkers, source = scene(workdir)
    agency = Agency(name="Demo Transit Police", email="footage@police.example")
    system.store.add_agency(agency)
    officer, user = AgencyUser(system.gateway.url, agency.id), FootageUser(system.gateway.url, agency.id)
    case = officer.open_case(person_name="Alex Example", last_seen_place="Central Station")
    photo = officer.add_reference_photo(case["id"], reference)
    system.run_until(lambda: getattr(system.store.get_photo(photo), "status", None) is not None
                     and system.store.get_photo(photo).status.value != "received", timeout_s=120)
    clip = encode_clip(workdir / "platform4.mp4", walkers, 20.0, size=(640, 360), fps=10)
    say(f"Case {case['id']} enrolled; a 20 s clip ({clip.stat().st_size // 1000} kB, H.264) from {source}")
    clip_id = user.upload_clip(clip, "2026-11-25T08:00:00Z", place="Central Station, platform 4")
    say(f"Clip {clip_id} uploaded through a presigned POST; following GET /footage/{clip_id}:")
    last = None
    while system.store.get_photo(clip_id) is None or system.store.get_photo(clip_id).status.value == "received":
        system.step()
        view = user.clip(clip_id)
        figures = (view["status"], view["parts_done"], view["parts_total"], view["frames_done"],
                   view["frames_total"], view["faces_found"])
        if figures != last:
            say("  {} - parts {}/{}, frames {}/{}, faces {}".format(*figures))
            last = figures
    system.drain()
    view = user.clip(clip_id)
    say(f"Clip {view['status']}: {len(view['appearances'])} appearances")
    for a in view["appearances"]:
        say(f"  {a['start_s']:5.1f}-{a['end_s']:5.1f} s ({a['seen_from'][11:19]}-{a['seen_until'][11:19]}): "
            f"{'ALERT ' + ', '.join(x[:8] for x in a['alert_ids']) if a['alert_ids'] else 'no alert'}")
    alerts = system.store.list_alerts(case["id"])
    for alert in alerts:
        played = user.alert_footage(alert.id)
        say(f"Alert {alert.id[:8]} (score {alert.score:.3f}): play from {played['play_from_s']:.1f} s, the face boxed "
            f"at {len(played['path'])} points; e-mails sent so far: {len(system.emails())}")
    return len(alerts) == 2


def main() -> int:
    """Run the footage demo end to end and shut down what it started."""
    model_dir = os.environ.get("FACETRACE_MODEL_DIR") or os.environ.get("FACETRACE_TEST_MODELS")
    system = LocalSystem(pack=os.environ.get("FACETRACE_PACK", Settings().pack), model_dir=model_dir).start()
    say(f"Local stack up; face worker: {system.worker.engine.model.name}; portal {system.gateway.url}/portal/")
    try:
        with tempfile.TemporaryDirectory() as workdir:
            found = run(system, Path(workdir))
    finally:
        system.stop()
    say("Footage demo: " + ("the person was found in both appearances" if found else "NOT FOUND as expected"))
    return 0 if found else 1


if __name__ == "__main__":
    sys.exit(main())
