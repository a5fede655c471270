"""Write (or --check) docs/openapi.json: the API's OpenAPI document, generated from functions/api/app.py."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCUMENT = REPO / "docs" / "openapi.json"


def generate() -> str:
    """The OpenAPI document as the code describes it (stable text, ending with a newline)."""
    from facetrace.config import Settings
    from facetrace.wiring import Wiring
    from functions.api.app import make_app

    # Wiring is lazy: building the app connects to nothing.
    app = make_app(Wiring(Settings()))
    return app.get_openapi_json_schema(
        title="FaceTrace API", version="1.0.0",
        description="Citizens upload sightings and read receipts; agencies manage cases and review alerts.",
    ) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the document, or with --check exit 1 when the checked-in one is stale."""
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--check", action="store_true", help="fail if docs/openapi.json differs from the code")
    check = args.parse_args(argv).check
    text = generate()
    if check:
        if not DOCUMENT.exists() or DOCUMENT.read_text() != text:
            sys.stderr.write("docs/openapi.json is stale: run python scripts/openapi.py\n")
            return 1
        return 0
    DOCUMENT.parent.mkdir(exist_ok=True)
    DOCUMENT.write_text(text)
    sys.stdout.write(f"wrote {DOCUMENT.relative_to(REPO)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
