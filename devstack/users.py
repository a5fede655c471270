"""The people of the demo and the end-to-end tests, acting over real HTTP as they would in production."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

import requests

from devstack.gateway import DEV_SCHEME

TIMEOUT_S = 30


def post_file(ticket: dict, data: bytes, filename: str, content_type: str) -> requests.Response:
    """POST a file to S3 with a presigned form, as a browser would; raises on a refused upload."""
    response = requests.post(ticket["url"], data=ticket["fields"], files={"file": (filename, data, content_type)},
                             timeout=TIMEOUT_S)
    response.raise_for_status()
    return response


def content_type_of(path: Path) -> str:
    """The MIME type FaceTrace expects for a photo file."""
    return mimetypes.guess_type(path.name)[0] or "image/jpeg"


@dataclass
class Citizen:
    """Someone without an account who saw a person and uploads a photo."""

    api_url: str

    def report_sighting(self, photo: Path, place: str | None = None, taken_at: str | None = None,
                        lat: float | None = None, lon: float | None = None) -> str:
        """Ask for an upload ticket, upload the photo to S3, and return the receipt id."""
        details = {k: v for k, v in dict(place=place, taken_at=taken_at, lat=lat, lon=lon).items() if v is not None}
        details["content_type"] = content_type_of(photo)
        response = requests.post(f"{self.api_url}/sightings/upload", json=details, timeout=TIMEOUT_S)
        response.raise_for_status()
        ticket = response.json()
        post_file(ticket, photo.read_bytes(), photo.name, details["content_type"])
        return ticket["receipt_id"]

    def receipt(self, receipt_id: str) -> dict:
        """The status of an upload, as the citizen sees it."""
        response = requests.get(f"{self.api_url}/receipts/{receipt_id}", timeout=TIMEOUT_S)
        response.raise_for_status()
        return response.json()


@dataclass
class AgencyUser:
    """A signed-in member of an agency (locally a development token carrying the agency id)."""

    api_url: str
    agency_id: str

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"{DEV_SCHEME}{self.agency_id}"}

    def open_case(self, **details) -> dict:
        """Open a case for a missing person."""
        response = requests.post(f"{self.api_url}/cases", json=details, headers=self._auth, timeout=TIMEOUT_S)
        response.raise_for_status()
        return response.json()

    def add_reference_photo(self, case_id: str, photo: Path) -> str:
        """Upload one reference photo of the case's person; return its photo id."""
        content_type = content_type_of(photo)
        response = requests.post(f"{self.api_url}/cases/{case_id}/photos", json={"content_type": content_type},
                                 headers=self._auth, timeout=TIMEOUT_S)
        response.raise_for_status()
        ticket = response.json()
        post_file(ticket, photo.read_bytes(), photo.name, content_type)
        return ticket["receipt_id"]

    def search_by_photo(self, photo: Path) -> str:
        """Upload a photo to search the cases the agency may see with; return the search id."""
        content_type = content_type_of(photo)
        ticket = self._json("POST", "/searches", {"content_type": content_type})
        post_file(ticket, photo.read_bytes(), photo.name, content_type)
        return ticket["search_id"]

    def search(self, search_id: str) -> dict:
        """A search's status and candidates (the reading is audited)."""
        return self._json("GET", f"/searches/{search_id}")

    def _json(self, method: str, path: str, body: dict | None = None):
        response = requests.request(method, f"{self.api_url}{path}", json=body, headers=self._auth, timeout=TIMEOUT_S)
        response.raise_for_status()
        return response.json()

    def list_alerts(self, **filters) -> list[dict]:
        """Alerts of the agency's cases (and cases shared with it), filtered by status, case_id or since."""
        query = "&".join(f"{k}={v}" for k, v in filters.items() if v is not None)
        return self._json("GET", f"/alerts?{query}")

    def open_alert(self, alert_id: str) -> dict:
        """One alert with links to both photos (the viewing is audited)."""
        return self._json("GET", f"/alerts/{alert_id}")

    def review_alert(self, alert_id: str, decision: str, note: str | None = None) -> dict:
        """Confirm or reject an alert, with a note."""
        return self._json("POST", f"/alerts/{alert_id}/review", {"decision": decision, "note": note})

    def case_audit(self, case_id: str) -> list[dict]:
        """The audit trail of one of the agency's cases."""
        return self._json("GET", f"/cases/{case_id}/audit")
