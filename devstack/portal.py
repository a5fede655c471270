"""The web portal's static files, served by the local gateway under /portal/ on the API's own origin."""

from __future__ import annotations

import json
import mimetypes
import os
from pathlib import Path

PREFIX = "/portal"
# The repository's portal/ folder; FACETRACE_PORTAL_DIR points elsewhere (e.g. an installed copy).
DEFAULT_DIR = Path(__file__).resolve().parents[1] / "portal"


def portal_dir() -> Path:
    return Path(os.environ.get("FACETRACE_PORTAL_DIR") or DEFAULT_DIR)


def config_js(api_url: str, extra: dict | None = None) -> bytes:
    """The portal's config.js: in AWS it is written at deploy time with the API URL and Cognito sign-in."""
    config = {"apiUrl": api_url, "auth": "dev", **(extra or {})}  # "dev": the agency id is an `Authorization: Dev <id>` token
    return f"window.FACETRACE_CONFIG = {json.dumps(config)};\n".encode()


def serve(path: str, api_url: str, config: dict | None = None) -> tuple[int, dict, bytes] | None:
    """The response for a GET under /portal/, or None when the path is not the portal's."""
    if path != PREFIX and not path.startswith(PREFIX + "/"):
        return None
    relative = path[len(PREFIX):].lstrip("/") or "index.html"
    if relative == "config.js":
        return 200, _headers("application/javascript"), config_js(api_url, config)
    root = portal_dir().resolve()
    file = (root / relative).resolve()
    # Never serve anything outside portal/ (e.g. /portal/../README.md).
    if root not in file.parents or not file.is_file():
        return 404, {"Content-Type": "text/plain"}, b"Not found"
    kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    return 200, _headers(kind), file.read_bytes()


def _headers(kind: str) -> dict[str, str]:
    # no-store: a developer editing portal/ sees the change on reload.
    return {"Content-Type": kind, "Cache-Control": "no-store"}
