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


def test_the_document_says_who_may_call_what_and_describes_every_operation():
    document = json.loads(_script().generate())
    public = {(r.method, re.sub(r"\{\w+\}", "{}", r.path)) for r in template_routes() if r.public}
    # GIVEN the security scheme: the agency's token in the Authorization header, required by default
    scheme = document["components"]["securitySchemes"]["agencyToken"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert document["security"] == [{"agencyToken": []}]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            # THEN the citizen routes opt out of it (an empty requirement), a camera's need its key, and no agency
            # route does either
            is_public = (method.upper(), re.sub(r"\{\w+\}", "{}", path)) in public
            assert (operation.get("security") in ([{}], [{"cameraKey": []}])) == is_public, (method, path)
            # AND every operation has a summary and a description, and documents its errors
            assert operation.get("summary") and len(operation.get("description", "")) > 20, (method, path)
            assert "500" in operation["responses"], (method, path)


def test_the_upload_form_is_described_to_the_letter():
    document = json.loads(_script().generate())
    # GIVEN the operations that hand out an upload form
    for path in ("/sightings/upload", "/cases/{case_id}/photos", "/searches"):
        text = document["paths"][path]["post"]["description"]
        # THEN each says the file part is named `file` and comes last, after the form's fields
        assert "named `file`, last" in text and "multipart/form-data" in text, path
        assert "201" in document["paths"][path]["post"]["responses"]
    ticket = document["components"]["schemas"]["UploadTicket"]["properties"]
    assert "before the file" in ticket["fields"]["description"]
