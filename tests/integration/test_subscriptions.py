"""Subscriptions on the real MariaDB: the store, recipient resolution and the API routes, scoped to one agency."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from facetrace.config import Settings
from facetrace.messages import Recipient
from facetrace.subscription import Subscription, recipients
from facetrace.wiring import Wiring
from tests import events, fakes
from tests.api import Api

pytestmark = pytest.mark.integration


@pytest.fixture
def scene(store):
    a, b = fakes.agency("A"), fakes.agency("B", "b@police.example")
    store.add_agency(a)
    store.add_agency(b)
    case = fakes.case(a.id)
    store.add_case(case)
    return store, a, b, case


def _sub(agency_id, address, channel="email", case_id=None, region=None, second=0):
    return Subscription(id=str(uuid.uuid4()), agency_id=agency_id, case_id=case_id, region=region, channel=channel,
                        address=address, created_at=datetime(2024, 1, 1, 0, 0, second, tzinfo=timezone.utc))


def test_the_store_keeps_each_agencys_subscriptions_apart(scene):
    store, a, b, case = scene
    # GIVEN a case subscription and a regional SMS subscription of A, and one of B
    s1 = _sub(a.id, "case@police.example", case_id=case.id)
    s2 = _sub(a.id, "+41791234567", channel="sms", region="Genève", second=1)
    s3 = _sub(b.id, "b-duty@police.example", second=2)
    for s in (s1, s2, s3):
        store.add_subscription(s, "dev")
    # WHEN each agency's are read  THEN each sees its own, oldest first, as stored
    assert store.subscriptions_of(a.id) == [s1, s2]
    assert store.subscriptions_of(b.id) == [s3]
    # AND B cannot delete A's, while A can
    assert store.delete_subscription(s1.id, b.id) is False
    assert store.delete_subscription(s1.id, a.id) is True
    assert store.subscriptions_of(a.id) == [s2]
    # AND A's alerts resolve against the store: in Genève to the phone, elsewhere to A's own e-mail
    assert recipients(store, a, case.id, "Gare de Genève") == [Recipient(channel="sms", address="+41791234567")]
    assert recipients(store, a, case.id, "Bern") == [Recipient(channel="email", address=a.email)]


def test_the_api_routes_on_mysql_let_an_agency_manage_only_its_own(db_url, scene):
    store, a, b, case = scene
    wiring = Wiring(Settings(db_url=db_url, aws_region=events.REGION))
    api = Api(wiring)
    try:
        # GIVEN A subscribed its case
        status, mine = api.call("POST", "/subscriptions", a.id,
                                {"channel": "email", "address": "case@police.example", "case_id": case.id})
        assert status == 201
        # WHEN B lists and tries to delete it  THEN B sees none and A's is not found for B
        assert api.call("GET", "/subscriptions", b.id) == (200, [])
        assert api.call("DELETE", f"/subscriptions/{mine['id']}", b.id)[0] == 404
        # AND A still lists it, deletes it, and the audit of the case holds both changes
        assert [s["id"] for s in api.call("GET", "/subscriptions", a.id)[1]] == [mine["id"]]
        assert api.call("DELETE", f"/subscriptions/{mine['id']}", a.id)[0] == 204
        assert api.call("GET", "/subscriptions", a.id) == (200, [])
        assert [(e.action.value, e.object_ids) for e in store.audit_of_case(case.id)] == [
            ("subscription.added", [mine["id"]]), ("subscription.deleted", [mine["id"]])]
    finally:
        api.close()
        wiring.store.db.close()


def test_the_sns_adapter_texts_a_phone_number_directly():
    # GIVEN the SNS publisher of the notify function, on moto
    import boto3
    from moto import mock_aws

    from facetrace.adapters.aws import SNSPublisher
    with mock_aws():
        sns = boto3.client("sns", region_name=events.REGION)
        topic = sns.create_topic(Name="sms")["TopicArn"]
        # WHEN it texts a subscriber's number  THEN SNS accepts it and answers a message id
        assert SNSPublisher(sns, topic).send_sms("+41791234567", "FaceTrace: possible sighting")
