"""Step Functions locally: the template's archive-search Map state, run in threads (moto runs no Lambda code).

Each segment goes to the same function the state machine names, with the item its ItemSelector builds, at most
MaxConcurrency at a time; the answers are gathered as the Map state's output is.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Callable, Sequence

import numpy as np

from facetrace.sighting_archive import Hit, SegmentTask, hits_of

Invoke = Callable[[str, dict], dict]  # (function logical id, event) -> the handler's answer


class LocalMap:
    """One state machine's Map state over one function, in this process."""

    def __init__(self, invoke: Invoke, function: str, concurrency: int) -> None:
        self.invoke, self.function, self.concurrency = invoke, function, concurrency

    @classmethod
    def from_template(cls, template: dict, state_machine: str, invoke: Invoke) -> "LocalMap":
        """The Map state of a template's state machine and the function its task invokes."""
        props = template["Resources"][state_machine]["Properties"]
        target = next(iter(props["DefinitionSubstitutions"].values()))
        function = target["Fn::GetAtt"][0] if isinstance(target["Fn::GetAtt"], list) else target["Fn::GetAtt"].split(".")[0]
        state = next(s for s in props["Definition"]["States"].values() if s["Type"] == "Map")
        return cls(invoke, function, int(state.get("MaxConcurrency") or 40))

    def search(self, keys: Sequence[str], refs: np.ndarray, since: datetime, min_score: float) -> list[Hit]:
        """Every segment's hits (facetrace.sighting_archive.SegmentSearch)."""
        shared = SegmentTask.query(refs, since, min_score)
        events = [{"key": key, **shared} for key in keys]
        if not events:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(events))) as pool:
            answers = list(pool.map(lambda event: self.invoke(self.function, event)["hits"], events))
        return hits_of(answers)
