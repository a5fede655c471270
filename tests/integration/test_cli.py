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


def test_agency_add_is_audited_and_agency_list_shows_every_agency(db_url, capsys):
    # GIVEN a migrated database (the one `make serve` prints)
    # WHEN an operator registers two agencies and lists them
    assert main(["agency-add", "--name", "Harbour Police", "--email", "duty@harbour.example", "--operator", "ops-kim",
                 "--db-url", db_url]) == 0
    assert main(["agency-add", "--name", "County Police", "--email", "mp@county.example", "--phone", "+15550100",
                 "--db-url", db_url]) == 0
    first, _, second, _ = capsys.readouterr().out.splitlines()
    assert main(["agency-list", "--db-url", db_url]) == 0
    listed = capsys.readouterr().out.splitlines()
    # THEN both are listed by name, with id and alert address
    harbour, county = first.split()[1], second.split()[1]
    assert listed == [f"{county}  County Police  <mp@county.example>", f"{harbour}  Harbour Police  <duty@harbour.example>"]
    # AND each registration is in the audit trail, by the operator who ran it
    store = MySQLStore.from_url(db_url)
    [entry] = store.audit_of_object(harbour)
    assert (entry.action.value, entry.agency_id, entry.user_sub) == ("agency.registered", harbour, "ops-kim")
