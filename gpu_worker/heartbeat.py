"""Keeping a long batch's jobs invisible to other workers."""

from __future__ import annotations

import threading

from facetrace.ports import MessageSource


class Heartbeat:
    """Keeps received jobs invisible to other workers while a long batch runs."""

    def __init__(self, source: MessageSource, receipts: list[str], visibility_s: int) -> None:
        self._source, self._receipts, self._visibility = source, receipts, visibility_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        # Extend at half the visibility timeout so a slow batch never reappears mid-flight.
        while not self._stop.wait(self._visibility / 2):
            self._source.extend(self._receipts, self._visibility)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
