"""The operator CLI against the real MariaDB."""

from __future__ import annotations

from facetrace.adapters.mysql import MySQLStore
from devstack.cli import main
from devstack import database


def test_migrate_then_add_agency(mysql_server, capsys):
    # GIVEN an empty database
    url = database.create_database(mysql_server.url, "ft_test_cli")
    try:
        # WHEN an operator migrates it twice and registers an agency
        assert main(["migrate", "--db-url", url]) == 0
        assert main(["migrate", "--db-url", url]) == 0
        assert main(["agency-add", "--name", "County Police", "--email", "mp@county.example", "--db-url", url]) == 0
        # THEN the second migration had nothing to do and the agency is stored with the id printed
        out = capsys.readouterr().out.splitlines()
        assert out[1] == "applied 0 migration(s): none pending"
        agency_id = out[2].split()[1]
        assert MySQLStore.from_url(url).get_agency(agency_id).email == "mp@county.example"
    finally:
        database.drop_database(mysql_server.url, "ft_test_cli")
