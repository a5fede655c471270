"""Notification: the agency gets one e-mail and one SMS per alert, each reported, whatever is retried."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from facetrace.messages import AlertMessage, DeliveryRecord
from facetrace.notify import SMS_LIMIT, NotifyDeps, deliver_alert, sms_summary
from facetrace.keys import reference_key, sighting_key
from tests import fakes

SEEN_AT = datetime(2024, 6, 1, 12, 30, 5, tzinfo=timezone.utc)


def _alert(**changes) -> AlertMessage:
    values = dict(
        alert_id=str(uuid.uuid4()), case_id=str(uuid.uuid4()), person_name="Jane Roe", agency_id=str(uuid.uuid4()),
        agency_name="Missing Persons Unit", agency_email="mpu@police.example", sighting_id=str(uuid.uuid4()),
        reference_photo_id=str(uuid.uuid4()), face_index=0, face_box=(10.0, 20.0, 110.0, 140.0), score=0.9123,
        model_name="test-model", seen_at=SEEN_AT, place="Quai du Mont-Blanc, Genève", lat=46.2089, lon=6.1486,
        created_at=datetime.now(timezone.utc),
    )
    return AlertMessage(**{**values, **changes})


class Channels:
    """The notify deps on fakes, with what each fake saw."""

    def __init__(self, mail_failures: int = 0) -> None:
        self.objects = fakes.FakeObjects()
        self.mailer = fakes.FakeMailer(fail=mail_failures)
        self.sms = fakes.FakePublisher()
        self.reports = fakes.FakeQueue()
        self.deps = NotifyDeps(mailer=self.mailer, sms=self.sms, deliveries=self.reports,
                               once=fakes.FakeOnce(), sender="alerts@facetrace.example",
                               portal_url="https://portal.example/")

    def reported(self) -> list[DeliveryRecord]:
        return [DeliveryRecord.model_validate_json(b) for b in self.reports.bodies]


def test_email_tells_the_agency_who_where_when_and_links_the_alert_page_not_the_photos():
    # GIVEN an alert for Jane Roe seen on the Quai du Mont-Blanc
    alert, channels = _alert(), Channels()
    # WHEN it is delivered
    deliver_alert(alert, channels.deps)
    # THEN the agency gets one e-mail from the sender with the person, score, place and time
    [(sender, to, subject, text)] = channels.mailer.sent
    assert (sender, to) == ("alerts@facetrace.example", ["mpu@police.example"])
    assert "Jane Roe" in subject and "0.91" in subject
    assert "Dear Missing Persons Unit" in text
    assert "0.912" in text
    assert "Quai du Mont-Blanc, Genève" in text
    assert SEEN_AT.isoformat() in text
    # AND a link to the portal's alert page (sign-in, audited viewing), and no link to either photo
    assert f"https://portal.example/alert.html?id={alert.alert_id}" in text
    assert sighting_key(alert.sighting_id) not in text and alert.reference_photo_id not in text
    assert "objects.test" not in text and "expires" not in text and channels.objects.gets == []


def test_email_falls_back_to_coordinates_without_a_place():
    # GIVEN an alert with coordinates but no place name
    alert, channels = _alert(place=None), Channels()
    # WHEN it is delivered THEN the e-mail gives the coordinates
    deliver_alert(alert, channels.deps)
    assert "46.20890,6.14860" in channels.mailer.sent[0][3]


def test_sms_summary_names_the_person_and_is_addressed_to_the_agency():
    # GIVEN an ordinary alert
    alert, channels = _alert(), Channels()
    # WHEN it is delivered
    deliver_alert(alert, channels.deps)
    # THEN one SMS summary is published, tagged with agency and case, within the SMS limit
    [(text, _, attributes)] = channels.sms.published
    assert "Jane Roe" in text and "0.91" in text and alert.alert_id[:8] in text
    assert attributes == {"agency_id": alert.agency_id, "case_id": alert.case_id}
    assert len(text) <= SMS_LIMIT


def test_sms_of_a_long_alert_is_cut_to_160_characters():
    # GIVEN an alert with a very long name and place
    alert = _alert(person_name="Maria " + "de la Cruz " * 10, place="Platform 9, " * 20)
    # WHEN its SMS is written THEN it is at most 160 characters and says it was cut
    text = sms_summary(alert)
    assert len(text) <= SMS_LIMIT
    assert text.endswith("…")


def test_both_deliveries_are_reported():
    # GIVEN an alert
    alert, channels = _alert(), Channels()
    # WHEN it is delivered
    records = deliver_alert(alert, channels.deps)
    # THEN a successful report is queued for each channel with the provider's id
    reported = channels.reported()
    assert reported == records
    assert {(r.channel, r.recipient, r.ok) for r in reported} == {("email", "mpu@police.example", True),
                                                                  ("sms", "sms-topic", True)}
    assert {r.provider_id for r in reported} == {"mail-1", "msg-1"}


def test_second_delivery_of_the_same_alert_sends_nothing():
    # GIVEN an alert already delivered once
    alert, channels = _alert(), Channels()
    deliver_alert(alert, channels.deps)
    # WHEN SQS delivers it again
    deliver_alert(alert, channels.deps)
    # THEN no second e-mail or SMS goes out
    assert len(channels.mailer.sent) == 1
    assert len(channels.sms.published) == 1


def test_mailer_failure_is_reported_and_raised_and_the_retry_sends_only_the_email():
    # GIVEN a mailer that fails once
    alert, channels = _alert(), Channels(mail_failures=1)
    # WHEN the alert is delivered THEN the failure is raised so SQS retries
    with pytest.raises(RuntimeError, match="SES throttled"):
        deliver_alert(alert, channels.deps)
    # AND the failed e-mail is reported with the error, while the SMS still went out
    failed = [r for r in channels.reported() if not r.ok]
    assert [(r.channel, r.error) for r in failed] == [("email", "SES throttled")]
    assert len(channels.sms.published) == 1
    # WHEN SQS retries
    deliver_alert(alert, channels.deps)
    # THEN the e-mail is sent and the SMS is not sent again
    assert len(channels.mailer.sent) == 1
    assert len(channels.sms.published) == 1
    assert ("email", True) in [(r.channel, r.ok) for r in channels.reported()]
