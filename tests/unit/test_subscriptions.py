"""Subscriptions: an agency chooses who receives its alerts, per case or for all its cases, anywhere or in a region."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest

from facetrace.access import Viewer
from facetrace.messages import AlertMessage, DeliveryRecord, PhotoKind, Recipient
from facetrace.notify import NotifyDeps, deliver_alert
from facetrace.subscription import NewSubscription, add_subscription, recipients
from tests import fakes
from tests.unit.test_review_api import REF, Scene
from tests.fakes import face, with_cosine

SEEN_AT = datetime(2024, 6, 1, 12, 30, 5, tzinfo=timezone.utc)


@pytest.fixture
def scene():
    s = Scene()
    yield s
    s.api.close()


def _subscribe(store, agency_id, channel="email", address="duty@police.example", case_id=None, region=None):
    return add_subscription(store, Viewer(agency_id, "dev"), NewSubscription(
        channel=channel, address=address, case_id=case_id, region=region))


# --- who receives an alert ------------------------------------------------------------------


def test_an_agency_without_subscriptions_is_e_mailed_itself(scene):
    # GIVEN agency A without subscriptions  WHEN an alert of its case is resolved  THEN A's own e-mail gets it
    assert recipients(scene.store, scene.a, scene.case.id, "Harbour") == [Recipient(channel="email", address=scene.a.email)]


def test_a_case_subscription_receives_only_that_cases_alerts(scene):
    # GIVEN a subscription to A's case and another case of A
    other = fakes.case(scene.a.id)
    scene.store.add_case(other)
    _subscribe(scene.store, scene.a.id, address="case-team@police.example", case_id=scene.case.id)
    # WHEN alerts of each case are resolved
    mine = recipients(scene.store, scene.a, scene.case.id, None)
    theirs = recipients(scene.store, scene.a, other.id, None)
    # THEN the case's team gets the case's alert, and the other case falls back to the agency's e-mail
    assert mine == [Recipient(channel="email", address="case-team@police.example")]
    assert theirs == [Recipient(channel="email", address=scene.a.email)]


def test_agency_wide_subscriptions_receive_every_case_and_duplicates_collapse(scene):
    # GIVEN an agency-wide e-mail and SMS subscription, and the same e-mail again for the case
    _subscribe(scene.store, scene.a.id, address="duty@police.example")
    _subscribe(scene.store, scene.a.id, channel="sms", address="+41791234567")
    _subscribe(scene.store, scene.a.id, address="duty@police.example", case_id=scene.case.id)
    # WHEN the case's alert is resolved  THEN each address is there once
    assert recipients(scene.store, scene.a, scene.case.id, None) == [
        Recipient(channel="email", address="duty@police.example"), Recipient(channel="sms", address="+41791234567")]


def test_a_region_subscription_matches_the_sighting_place_as_text(scene):
    # GIVEN a subscription for sightings in Genève
    _subscribe(scene.store, scene.a.id, channel="sms", address="+41791234567", region="genève")
    geneva = [Recipient(channel="sms", address="+41791234567")]
    # WHEN alerts are resolved for sightings at various places
    # THEN it matches the place case-insensitively, and not elsewhere, nor a sighting without a place
    assert recipients(scene.store, scene.a, scene.case.id, "Quai du Mont-Blanc, GENÈVE") == geneva
    assert recipients(scene.store, scene.a, scene.case.id, "Lausanne") == [Recipient(channel="email", address=scene.a.email)]
    assert recipients(scene.store, scene.a, scene.case.id, None) == [Recipient(channel="email", address=scene.a.email)]


def test_another_agencys_subscriptions_never_receive_its_alerts(scene):
    # GIVEN B subscribed to everything
    _subscribe(scene.store, scene.b.id, address="b-duty@police.example")
    # WHEN A's alert is resolved  THEN only A's e-mail gets it
    assert recipients(scene.store, scene.a, scene.case.id, None) == [Recipient(channel="email", address=scene.a.email)]


def test_match_puts_the_recipients_in_the_published_alert(scene):
    # GIVEN A subscribed a duty phone for Harbour sightings
    _subscribe(scene.store, scene.a.id, channel="sms", address="+41791234567", region="harbour")
    publisher = fakes.FakePublisher()
    deps = scene.deps.__class__(**{**scene.deps.__dict__, "publisher": publisher})
    # WHEN a new sighting at the Harbour raises an alert
    sighting = scene.photo(PhotoKind.SIGHTING, place="Old Harbour")
    from facetrace.match import process_faces
    process_faces(fakes.faces_result(sighting, [face(0, with_cosine(REF, 0.95))]), deps)
    # THEN the published message names the phone as its recipient
    [(body, _, _)] = publisher.published
    assert AlertMessage.model_validate_json(body).recipients == [Recipient(channel="sms", address="+41791234567")]


def test_an_alert_message_without_recipients_still_parses():
    # GIVEN a version-1 message from before subscriptions  WHEN it is parsed  THEN it has no recipients
    old = json.loads(_alert().model_dump_json())
    del old["recipients"]
    assert AlertMessage.model_validate(old).recipients == []


# --- notify sends to them -------------------------------------------------------------------


def _alert(**changes) -> AlertMessage:
    values = dict(
        alert_id=str(uuid.uuid4()), case_id=str(uuid.uuid4()), person_name="Jane Roe", agency_id=str(uuid.uuid4()),
        agency_name="Missing Persons Unit", agency_email="mpu@police.example", sighting_id=str(uuid.uuid4()),
        reference_photo_id=str(uuid.uuid4()), face_index=0, face_box=(10.0, 20.0, 110.0, 140.0), score=0.9123,
        model_name="test-model", seen_at=SEEN_AT, place="Genève", created_at=datetime.now(timezone.utc),
    )
    return AlertMessage(**{**values, **changes})


class Channels:
    def __init__(self, mail_failures: int = 0) -> None:
        self.mailer = fakes.FakeMailer(fail=mail_failures)
        self.sms = fakes.FakePublisher()
        self.reports = fakes.FakeQueue()
        self.deps = NotifyDeps(mailer=self.mailer, sms=self.sms, deliveries=self.reports,
                               once=fakes.FakeOnce(), sender="alerts@facetrace.example",
                               portal_url="https://portal.example/")

    def reported(self) -> list[tuple[str, str, bool]]:
        return [(r.channel, r.recipient, r.ok) for r in map(DeliveryRecord.model_validate_json, self.reports.bodies)]


RECIPIENTS = [Recipient(channel="email", address="a@police.example"), Recipient(channel="email", address="b@police.example"),
              Recipient(channel="sms", address="+41791234567"), Recipient(channel="sms", address="+41797654321")]


def test_all_e_mail_recipients_get_one_e_mail_and_each_phone_its_own_sms():
    # GIVEN an alert for two e-mail addresses and two phones
    alert, channels = _alert(recipients=RECIPIENTS), Channels()
    # WHEN it is delivered
    deliver_alert(alert, channels.deps)
    # THEN one SES call goes to both addresses, each phone is texted once, and the topic is not used
    [(_, to, _, _)] = channels.mailer.sent
    assert to == ["a@police.example", "b@police.example"]
    assert [p for p, _ in channels.sms.texts] == ["+41791234567", "+41797654321"]
    assert channels.sms.published == []
    # AND every recipient's delivery is reported
    assert channels.reported() == [("email", "a@police.example", True), ("email", "b@police.example", True),
                                   ("sms", "+41791234567", True), ("sms", "+41797654321", True)]


def test_without_sms_recipients_the_summary_goes_to_the_sms_topic():
    # GIVEN an alert for one e-mail address only
    alert, channels = _alert(recipients=RECIPIENTS[:1]), Channels()
    # WHEN it is delivered  THEN the SMS summary goes to the topic, as before subscriptions
    deliver_alert(alert, channels.deps)
    assert len(channels.sms.published) == 1 and channels.sms.texts == []
    assert channels.reported() == [("email", "a@police.example", True), ("sms", "sms-topic", True)]


def test_a_failed_e_mail_is_reported_for_each_recipient_and_the_retry_sends_it_once():
    # GIVEN a mailer that fails once
    alert, channels = _alert(recipients=RECIPIENTS), Channels(mail_failures=1)
    # WHEN the alert is delivered THEN the error is raised, reported for both addresses, and the SMS went out
    with pytest.raises(RuntimeError):
        deliver_alert(alert, channels.deps)
    assert [r for r in channels.reported() if not r[2]] == [("email", "a@police.example", False),
                                                            ("email", "b@police.example", False)]
    assert len(channels.sms.texts) == 2
    # WHEN SQS retries, twice  THEN the e-mail is sent once and no SMS again
    deliver_alert(alert, channels.deps)
    deliver_alert(alert, channels.deps)
    assert len(channels.mailer.sent) == 1 and len(channels.sms.texts) == 2


# --- the API --------------------------------------------------------------------------------


def test_an_agency_adds_lists_and_deletes_its_subscriptions_and_each_change_is_audited(scene):
    # GIVEN agency A
    # WHEN it subscribes an address to its case and a phone agency-wide for a region, then lists them
    s1, first = scene.api.call("POST", "/subscriptions", scene.a.id,
                               {"channel": "email", "address": "case@police.example", "case_id": scene.case.id})
    s2, second = scene.api.call("POST", "/subscriptions", scene.a.id,
                                {"channel": "sms", "address": "+41791234567", "region": "Genève"})
    _, listed = scene.api.call("GET", "/subscriptions", scene.a.id)
    # THEN both exist, as asked
    assert (s1, s2) == (201, 201)
    assert [(s["channel"], s["address"], s["case_id"], s["region"]) for s in listed] == [
        ("email", "case@police.example", scene.case.id, None), ("sms", "+41791234567", None, "Genève")]
    # WHEN it deletes the first  THEN only the second remains
    status, _ = scene.api.call("DELETE", f"/subscriptions/{first['id']}", scene.a.id)
    assert status == 204
    assert [s["id"] for s in scene.api.call("GET", "/subscriptions", scene.a.id)[1]] == [second["id"]]
    # AND the audit names each change, its subscription and its agency
    assert [(e.action.value, e.object_ids, e.agency_id) for e in scene.store.audit] == [
        ("subscription.added", [first["id"]], scene.a.id), ("subscription.added", [second["id"]], scene.a.id),
        ("subscription.deleted", [first["id"]], scene.a.id)]


def test_another_agency_cannot_see_delete_or_subscribe_to_a_case_it_does_not_own(scene):
    # GIVEN A's subscription
    _, mine = scene.api.call("POST", "/subscriptions", scene.a.id, {"channel": "email", "address": "x@police.example"})
    audited = len(scene.store.audit)
    # WHEN B lists, deletes A's subscription, and subscribes to A's case
    _, listed = scene.api.call("GET", "/subscriptions", scene.b.id)
    deleted, _ = scene.api.call("DELETE", f"/subscriptions/{mine['id']}", scene.b.id)
    subscribed, _ = scene.api.call("POST", "/subscriptions", scene.b.id,
                                   {"channel": "email", "address": "b@police.example", "case_id": scene.case.id})
    # THEN B sees nothing, A's subscription is not found for B and stays, and A's case is not found either
    assert listed == [] and deleted == 404 and subscribed == 404
    assert [s.id for s in scene.store.subscriptions] == [mine["id"]]
    assert len(scene.store.audit) == audited


@pytest.mark.parametrize("body", [{"channel": "email", "address": "not-an-address"},
                                  {"channel": "sms", "address": "0791234567"},
                                  {"channel": "fax", "address": "x@police.example"}])
def test_an_address_that_does_not_fit_its_channel_is_refused(scene, body):
    # GIVEN / WHEN A subscribes a malformed address  THEN it is a validation error and nothing is stored
    status, _ = scene.api.call("POST", "/subscriptions", scene.a.id, body)
    assert status == 422 and scene.store.subscriptions == []
