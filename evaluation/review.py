"""A protocol's labels corrected after a person's review, without redrawing it.

Label errors found later (one person filed under two names; a photo of someone other than its folder
says) are fixed on the drawn protocol itself: aliases become one identity in the person column, a
misfiled photo's rows are left out. The same people keep the same roles, so the correction changes
only the labels that were wrong. A stranger whose alias is enrolled becomes a mated searcher, as it is.
"""

from __future__ import annotations

from pathlib import Path

from evaluation.protocol import Row


def read_misfiled(path: str | Path) -> set[str]:
    """Photo paths (relative to the dataset root), one a line; '#' starts a comment."""
    lines = (line.split("#")[0].strip() for line in Path(path).read_text().splitlines())
    return {line for line in lines if line}


def identities(groups: list[tuple[str, ...]]) -> dict[str, str]:
    """Name -> the identity it belongs to: its group's alphabetically first name (groups sharing a name join)."""
    identity: dict[str, str] = {}
    for group in groups:
        roots = {identity.get(name, name) for name in group}
        root = min(roots)  # each earlier root is its group's first name, so this is the joined group's first
        for name, old in identity.items():
            if old in roots:
                identity[name] = root
        identity.update({name: root for name in group})
    return identity


def relabel(rows: list[Row], groups: list[tuple[str, ...]], misfiled: set[str]) -> tuple[list[Row], dict]:
    """Rows with aliases merged and misfiled photos left out, and what changed."""
    identity = identities(groups)
    kept = [Row(r.path, identity.get(r.person, r.person), r.role) for r in rows if r.path not in misfiled]
    renamed = sorted({f"{r.person}->{identity[r.person]}" for r in rows if identity.get(r.person, r.person) != r.person})
    dropped = sorted(r.path for r in rows if r.path in misfiled)
    return kept, {"renamed": renamed, "left_out": dropped}
