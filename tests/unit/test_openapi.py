"""docs/openapi.json is what the code generates, and describes exactly the template's routes."""

from __future__ import annotations

import importlib.util
import json
import re

from tests.api import template_routes
from tests.conftest import REPO


def _script():
    spec = importlib.util.spec_from_file_location("openapi_script", REPO / "scripts" / "openapi.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_openapi_document_matches_the_code():
    # GIVEN the document generated from functions/api/app.py now
    generated = _script().generate()
    # WHEN it is compared with the checked-in file
    checked_in = (REPO / "docs" / "openapi.json").read_text()
    # THEN they are identical (else: run python scripts/openapi.py and commit the result)
    assert checked_in == generated, "docs/openapi.json is stale: run python scripts/openapi.py"


def test_openapi_routes_are_the_templates_routes():
    # GIVEN the operations of the generated document and the API events of the template
    document = json.loads(_script().generate())
    shape = lambda path: re.sub(r"\{\w+\}", "{}", path)  # noqa: E731 - parameter names may differ
    operations = {(m.upper(), shape(p)) for p, ops in document["paths"].items() for m in ops}
    # WHEN compared  THEN every route the code serves is deployed, and nothing else is
    assert operations == {(r.method, shape(r.path)) for r in template_routes()}
