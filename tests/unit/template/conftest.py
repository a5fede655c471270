"""The parsed template, once per test module."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.template import load_template
from tests.unit.template.helpers import TEMPLATE_PATH


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)
