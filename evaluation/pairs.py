"""LFW-style pair verification: read a pairs file and score it with cached records."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evaluation import metrics
from evaluation.cache import Record


def read_pairs(path: str | Path) -> list[tuple[str, str, bool]]:
    """(image_a, image_b, same_person) relative paths; 3 fields: same person, 4 fields: different."""
    pairs = []
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:
            pairs.append((_image(parts[0], parts[1]), _image(parts[0], parts[2]), True))
        elif len(parts) == 4:
            pairs.append((_image(parts[0], parts[1]), _image(parts[2], parts[3]), False))
    return pairs


def _image(person: str, number: str) -> str:
    """LFW's path for a person's n-th photo."""
    return f"{person}/{person}_{int(number):04d}.jpg"


def verify(pairs: list[tuple[str, str, bool]], records: dict[str, Record], root: str | Path) -> dict:
    """10-fold accuracy; a pair with a face-less image scores -1 (judged different), never dropped."""
    root = Path(root)
    scores, same, faceless = [], [], 0
    for a, b, is_same in pairs:
        ra, rb = records[str((root / a).resolve())], records[str((root / b).resolve())]
        ok = ra.has_face and rb.has_face
        faceless += not ok
        scores.append(float(np.dot(ra.embedding, rb.embedding)) if ok else -1.0)
        same.append(is_same)
    result = metrics.ten_fold_verification(np.array(scores), np.array(same))
    return {"pairs": len(pairs), "pairs_same": int(sum(same)), "pairs_with_faceless_image": faceless, **result}
