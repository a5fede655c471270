"""Shared fixtures: the real MariaDB (one database per test), moto, and the shared face data."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

# One service name for the whole test process, set before any powertools Logger exists (see devstack).
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "facetrace-tests")

import pytest  # noqa: E402  (after the environment above)

from facetrace.adapters.mysql import MySQLStore  # noqa: E402
from facetrace.db.migrate import migrate  # noqa: E402
from devstack import database  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch):
    # boto3 must never reach a real account from a test.
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_METRICS_NAMESPACE": "FaceTrace", "POWERTOOLS_DEV": "false",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def mysql_server():
    """A MySQL server: FACETRACE_DB_URL, the local MariaDB, or a private one started for the session."""
    server = database.find_or_start(allow_install=False)
    yield server
    server.stop()


@pytest.fixture
def db_url(mysql_server):
    """A fresh, migrated database for one test, dropped afterwards."""
    name = f"ft_test_{uuid.uuid4().hex[:12]}"
    url = database.create_database(mysql_server.url, name)
    migrate(url)
    yield url
    database.drop_database(mysql_server.url, name)


@pytest.fixture
def store(db_url):
    store = MySQLStore.from_url(db_url)
    yield store
    store.db.close()


def _shared(var: str) -> Path:
    value = os.environ.get(var)
    if not value or not Path(value).is_dir():
        pytest.skip(f"{var} is not set to a folder (see .ci/run); the shared faces/models are not committed")
    return Path(value)


@pytest.fixture(scope="session")
def test_data() -> Path:
    """../shared/data (LFW and fixtures), found through FACETRACE_TEST_DATA."""
    return _shared("FACETRACE_TEST_DATA")


@pytest.fixture(scope="session")
def test_models() -> Path:
    """../shared/models (small real ONNX face models), found through FACETRACE_TEST_MODELS."""
    return _shared("FACETRACE_TEST_MODELS")
