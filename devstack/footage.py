"""Footage on the local stack: an agency or a camera uploads a clip over HTTP, as in production (issue #14)."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

import requests

from devstack.gateway import DEV_SCHEME
from devstack.users import TIMEOUT_S, post_file

CONTENT_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime", ".mkv": "video/x-matroska",
                 ".avi": "video/x-msvideo", ".mjpeg": "video/x-motion-jpeg"}


def content_type_of(path: Path) -> str:
    """The MIME type FaceTrace expects for a clip file."""
    return CONTENT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "video/mp4"


def send_clip(ticket: dict, data: bytes, filename: str, content_type: str, complete_url: str,
              headers: dict[str, str]) -> None:
    """Upload a clip with its ticket: one POST, or each part PUT then the upload completed."""
    if ticket["method"] == "post":
        post_file(ticket, data, filename, content_type)
        return
    size, parts = ticket["part_bytes"], []
    for number, url in enumerate(ticket["part_urls"], start=1):
        response = requests.put(url, data=data[(number - 1) * size:number * size], timeout=TIMEOUT_S)
        response.raise_for_status()
        parts.append({"part_number": number, "etag": response.headers["ETag"]})
    response = requests.post(complete_url, json={"upload_id": ticket["upload_id"], "parts": parts}, headers=headers,
                             timeout=TIMEOUT_S)
    response.raise_for_status()


@dataclass
class FootageUser:
    """An agency member uploading and following clips."""

    api_url: str
    agency_id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"{DEV_SCHEME}{self.agency_id}"}

    def upload_clip(self, path: Path, started_at: str, place: str | None = None, data: bytes | None = None) -> str:
        """Ask for a ticket and upload the clip; its id."""
        data = path.read_bytes() if data is None else data
        body = {"content_type": content_type_of(path), "size_bytes": len(data), "started_at": started_at,
                **({"place": place} if place else {})}
        ticket = self.call("POST", "/footage/upload", body)
        send_clip(ticket, data, path.name, body["content_type"], f"{self.api_url}/footage/{ticket['clip_id']}/complete",
                  self.auth)
        return ticket["clip_id"]

    def clip(self, clip_id: str) -> dict:
        """A clip's status, progress and appearances (audited)."""
        return self.call("GET", f"/footage/{clip_id}")

    def alert_footage(self, alert_id: str) -> dict:
        """The stretch of video of an alert (audited)."""
        return self.call("GET", f"/alerts/{alert_id}/footage")

    def register_camera(self, name: str, place: str) -> dict:
        """Register a camera; its id and key."""
        return self.call("POST", "/cameras", {"name": name, "place": place})

    def call(self, method: str, path: str, body: dict | None = None):
        response = requests.request(method, f"{self.api_url}{path}", json=body, headers=self.auth, timeout=TIMEOUT_S)
        response.raise_for_status()
        return response.json() if response.content else None


@dataclass
class Camera:
    """A registered camera: it asks for tickets with its key and uploads clips."""

    api_url: str
    camera_id: str
    key: str

    def upload_clip(self, path: Path, started_at: str) -> str:
        """Upload one clip at the camera's place; its id."""
        data = path.read_bytes()
        headers = {"X-Camera-Key": self.key}
        body = {"content_type": content_type_of(path), "size_bytes": len(data), "started_at": started_at}
        response = requests.post(f"{self.api_url}/cameras/{self.camera_id}/footage", json=body, headers=headers,
                                 timeout=TIMEOUT_S)
        response.raise_for_status()
        ticket = response.json()
        complete = f"{self.api_url}/cameras/{self.camera_id}/footage/{ticket['clip_id']}/complete"
        send_clip(ticket, data, path.name, body["content_type"], complete, headers)
        return ticket["clip_id"]
