"""LFW label noise, handled without looking at faces: one person under two names, one photo under two names.

- Aliases: names whose words are the same in another order (Wang_Nan / Nan_Wang) are merged
  automatically; other aliases (spelling variants, nicknames) come from a reviewed list, one
  `Name_A,Name_B` pair a line (`lfw_aliases.txt` beside this file). A merged person is one identity:
  searching with one name and finding the other is a hit, never a false alarm.
- Duplicate photos: an image whose pixels match (64-bit difference hash, Hamming distance <= 2) an
  image filed under another identity is dropped, both copies, since either label may be the wrong one.
Neither rule reads a similarity score, so the evaluation cannot tune itself through them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

DEFAULT_ALIASES = Path(__file__).with_name("lfw_aliases.txt")
MAX_HASH_DISTANCE = 2


def name_words(name: str) -> tuple[str, ...]:
    """Lower-case ASCII words of a name (underscores, hyphens and spaces separate them)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return tuple(w for w in re.split(r"[_\-\s]+", ascii_name) if w)


def reordered_names(names: list[str]) -> list[tuple[str, ...]]:
    """Groups of names made of the same words in another order."""
    groups = defaultdict(list)
    for name in names:
        groups[tuple(sorted(name_words(name)))].append(name)
    return [tuple(sorted(g)) for g in groups.values() if len(g) > 1]


def read_alias_file(path: str | Path) -> list[tuple[str, ...]]:
    """Alias groups from a file of comma-separated names ('#' starts a comment)."""
    groups = []
    for line in Path(path).read_text().splitlines():
        names = [n.strip() for n in line.split("#")[0].split(",") if n.strip()]
        if len(names) > 1:
            groups.append(tuple(names))
    return groups


def merge(people: dict[str, list[str]], groups: list[tuple[str, ...]]) -> tuple[dict[str, list[str]], list[tuple]]:
    """People keyed by identity (a merged group takes its alphabetically first name); the groups applied."""
    identity = {name: name for name in people}
    applied = []
    for group in groups:
        present = sorted(n for n in group if n in people)
        if len(present) > 1:
            roots = sorted({_root(identity, n) for n in present})
            for name in roots[1:]:
                identity[name] = roots[0]
            applied.append(tuple(present))
    merged = defaultdict(list)
    for name, images in people.items():
        merged[_root(identity, name)].extend(images)
    return {name: sorted(images) for name, images in merged.items()}, applied


def _root(identity: dict[str, str], name: str) -> str:
    """The identity a name belongs to after earlier merges."""
    while identity[name] != name:
        name = identity[name]
    return name


def difference_hash(path: str | Path) -> int | None:
    """64-bit difference hash of an image file (brightness gradients of a 9x8 grey thumbnail); None if unreadable."""
    grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if grey is None:
        return None
    small = cv2.resize(grey, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    return int.from_bytes(np.packbits(small[:, 1:] > small[:, :-1]).tobytes(), "big")


def cross_identity_duplicates(root: str | Path, people: dict[str, list[str]]) -> set[str]:
    """Images whose near-identical copy is filed under another identity (both copies are returned)."""
    hashed = [(name, image, difference_hash(Path(root) / image)) for name, images in people.items() for image in images]
    paths = [(name, image) for name, image, h in hashed if h is not None]
    hashes = np.array([h for _, _, h in hashed if h is not None], dtype=np.uint64)
    owners = np.array([name for name, _ in paths], dtype=object)
    dropped = set()
    for i in range(len(paths)):
        distance = np.bitwise_count(hashes[i + 1 :] ^ hashes[i])
        for j in np.nonzero((distance <= MAX_HASH_DISTANCE) & (owners[i + 1 :] != owners[i]))[0] + i + 1:
            dropped.update({paths[i][1], paths[j][1]})
    return dropped
