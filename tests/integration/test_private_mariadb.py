"""The fallback `make demo` uses on a machine with no MySQL running: a private, throw-away MariaDB."""

from __future__ import annotations

import shutil

import pytest

from facetrace.db.migrate import migrate
from devstack import database

pytestmark = pytest.mark.integration


def test_a_private_mariadb_starts_migrates_and_goes_away():
    if not (shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin")):
        pytest.skip("no mariadbd binary on this machine (make demo would install mariadb-server)")
    # GIVEN no server of our own yet WHEN a private one is started beside the host's
    server = database.start_private(allow_install=False)
    try:
        # THEN it answers on its own port and takes the migrations
        assert server.url != database.LOCAL_URL and database.reachable(server.url)
        assert "0001_initial" in migrate(database.create_database(server.url, "private_check"))
    finally:
        server.stop()
    # AND once stopped it is gone, data directory included
    assert not database.reachable(server.url)
    assert server.datadir is None or not server.datadir.exists()
