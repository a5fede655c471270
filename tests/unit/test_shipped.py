"""What ships is only what runs: the Lambda layer and the worker image hold no development stack, no
evaluation code and no test tooling (moto, scikit-image, playwright)."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO

NEVER_SHIPPED = ("devstack", "evaluation", "moto", "skimage", "playwright", "pytest", "tests", "faiss")
LAYER_BUILD = REPO / ".aws-sam" / "test-build" / "CommonLayer" / "python"


def _imports(folder: Path) -> dict[str, set[str]]:
    """Top-level modules each Python file under folder imports."""
    found = {}
    for path in folder.rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(REPO))] = names
    return found


@pytest.mark.parametrize("folder", ["layers/common/facetrace", "gpu_worker", "functions"])
def test_shipped_code_imports_nothing_that_is_not_shipped(folder):
    # GIVEN the code of a deployable WHEN its imports are read THEN none reaches development or evaluation code
    offenders = {f: sorted(n & set(NEVER_SHIPPED)) for f, n in _imports(REPO / folder).items() if n & set(NEVER_SHIPPED)}
    assert offenders == {}


def test_only_adapters_and_wiring_import_the_drivers():
    # GIVEN the shared package WHEN its imports are read THEN boto3/botocore/pymysql stay in adapters (and wiring
    # builds them); no domain module imports a driver, onnxruntime or PyAV
    drivers = {"boto3", "botocore", "pymysql", "onnxruntime", "av"}  # av: the video library (issue #14)
    domain = {f: sorted(n & drivers) for f, n in _imports(REPO / "layers/common/facetrace").items()
              if n & drivers and "/adapters/" not in f}
    assert domain == {}


def test_worker_image_copies_only_the_worker_and_the_shared_package():
    # GIVEN the worker's Dockerfile WHEN its COPY sources and install extras are read
    dockerfile = (REPO / "gpu_worker" / "Dockerfile").read_text()
    sources = {line.split()[-2] for line in dockerfile.splitlines() if line.startswith("COPY") and "--from" not in line}
    extras = set(re.search(r'pip install "\./\[([a-z,]+)\]"', dockerfile)[1].split(","))
    # THEN only the shared package, the worker and the project file go in (and, to the stage that fetches the
    # model pack, the fetcher with the pack manifests)
    assert sources == {"pyproject.toml", "layers/common/facetrace", "gpu_worker", "gpu_worker/packs/fetch.py",
                       "gpu_worker/packs/manifests"}
    # AND the extras it installs bring no development or test tooling
    optional = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    installed = " ".join(dep for extra in extras for dep in optional[extra]).lower()
    assert extras == {"worker", "gpu"} and not any(name in installed for name in NEVER_SHIPPED)
    # AND the worker package itself holds no evaluation code
    assert not (REPO / "gpu_worker" / "evaluation").exists()


def test_layer_built_by_sam_holds_no_development_or_evaluation_code():
    # GIVEN the layer `sam build` made (make test builds it before running pytest)
    if not LAYER_BUILD.is_dir():
        pytest.skip("no sam build output: `make build-template` (run first by `make test`) creates it")
    top = {p.name.split("-")[0].lower() for p in LAYER_BUILD.iterdir()}
    # THEN no development stack, evaluation, test tooling or operator CLI is in it
    assert not top & set(NEVER_SHIPPED), top & set(NEVER_SHIPPED)
    package = {p.name for p in (LAYER_BUILD / "facetrace").iterdir()}
    assert not package & {"local", "cli.py", "score_norm.py"}
    assert "ingest.py" in package and "adapters" in package  # and it is the real package


def _megabytes(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


def test_every_function_with_its_layer_fits_lambdas_unzipped_limit():
    # GIVEN what `sam build` made for each function, and the layer they all share
    build = LAYER_BUILD.parents[1]
    if not LAYER_BUILD.is_dir():
        pytest.skip("no sam build output: `make build-template` (run first by `make test`) creates it")
    layer = _megabytes(LAYER_BUILD)
    functions = [d for d in build.iterdir() if d.is_dir() and d.name.endswith("Function")]
    # THEN each one, with the layer, stays under Lambda's 250 MiB unzipped limit (ingest, with PyAV, is the
    # largest; a margin keeps a dependency update from breaking a deploy)
    sizes = {d.name: round(_megabytes(d) + layer, 1) for d in functions}
    assert functions and all(size < 240 for size in sizes.values()), sizes
