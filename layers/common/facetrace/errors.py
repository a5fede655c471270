"""Failures of the outside world that domain code and entry points share, free of any driver's exceptions."""

from __future__ import annotations


class StoreUnavailable(Exception):
    """The store cannot be reached or cannot serve now (down, unreachable, overloaded); retrying later may work."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
