"""Small interfaces to the outside world; adapters implement them, domain code depends only on these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ObjectInfo:
    """What S3 knows about an object without downloading it."""

    size: int
    content_type: str | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UploadForm:
    """A presigned POST: the URL and the form fields the browser must send with the file."""

    url: str
    fields: dict[str, str]
    key: str
    expires_in: int


@dataclass(frozen=True)
class ReceivedMessage:
    """One received queue message: its body and the handle to delete or extend it."""

    message_id: str
    receipt: str
    body: str
    receive_count: int = 1  # SQS's ApproximateReceiveCount: this is the n-th delivery


class MessageSource(Protocol):
    """A queue that a long-running consumer polls (the GPU worker's jobs queue)."""

    def receive(self, max_jobs: int, wait_s: int) -> list[ReceivedMessage]: ...
    def delete(self, receipts: list[str]) -> None: ...
    def extend(self, receipts: list[str], seconds: int) -> None: ...


class ObjectMissing(LookupError):
    """The object is not in the store (deleted, expired, or never written)."""


class ObjectStore(Protocol):
    def head(self, key: str) -> ObjectInfo: ...
    def exists(self, key: str) -> bool: ...
    def get(self, key: str) -> bytes: ...
    def get_if_exists(self, key: str) -> bytes | None: ...

    def read(self, key: str, etag: str | None = None) -> tuple[bytes, ObjectInfo] | None:
        """The object's bytes and facts, or None if it is gone or (given an ETag) no longer those bytes."""
        ...

    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def put_once(self, key: str, body: bytes, content_type: str, metadata: dict[str, str]) -> bool:
        """Write the object unless the key exists (never overwrite); False when it existed."""
        ...

    def presign_post(
        self, key: str, content_type: str, min_bytes: int, max_bytes: int, metadata: dict[str, str], expires_in: int
    ) -> UploadForm: ...
    def presign_get(self, key: str, expires_in: int) -> str: ...
    def delete(self, key: str) -> None: ...


class Queue(Protocol):
    def send(self, body: str, dedup_id: str | None = None) -> None: ...


class Publisher(Protocol):
    def publish(self, message: str, subject: str | None = None, attributes: dict[str, str] | None = None) -> str:
        """Publish and return the provider's message id."""
        ...


class Mailer(Protocol):
    def send(self, sender: str, to: list[str], subject: str, text: str) -> str:
        """Send a plain-text e-mail and return the provider's message id."""
        ...
