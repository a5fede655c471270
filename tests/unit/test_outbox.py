"""The local outbox page: what the stack e-mailed and texted, escaped, served by the gateway beside the API."""

from __future__ import annotations

from devstack import outbox
from devstack.gateway import LocalGateway
from devstack.inbox import SentEmail, SentText


def test_outbox_lists_emails_newest_first_and_texts_with_everything_escaped():
    # GIVEN two e-mails (one with markup in its subject) and a text
    emails = [SentEmail("a@x.test", ["duty@agency.test"], "first <b>alert</b>", "body one"),
              SentEmail("a@x.test", ["duty@agency.test"], "second alert", "body & two")]
    texts = [SentText("+15550100", "FaceTrace: possible sighting")]
    # WHEN the page is made
    html = outbox.page(emails, texts).decode()
    # THEN both e-mails and the text are there, newest e-mail first, and markup is shown, never run
    assert html.index("second alert") < html.index("first &lt;b&gt;alert&lt;/b&gt;")
    assert "<b>alert</b>" not in html and "body &amp; two" in html
    assert "E-mails (2)" in html and "Text messages (1)" in html and "+15550100" in html


def test_an_empty_outbox_says_so():
    html = outbox.page([], []).decode()
    assert html.count("None yet.") == 2


def test_the_gateway_serves_the_outbox_beside_the_api():
    # GIVEN a gateway with the outbox page and no API routes
    sent: list[SentEmail] = []
    gw = LocalGateway([], lambda event: {"statusCode": 500}, pages={outbox.PATH: lambda: outbox.page(sent, [])})
    # WHEN an e-mail is sent after the gateway started, and the outbox is asked for
    sent.append(SentEmail("a@x.test", ["b@y.test"], "a sighting of Ann", "..."))
    status, headers, body = gw.handle("GET", "/outbox/", {}, b"")
    # THEN the page is made afresh and shows it; other paths are still the API's
    assert status == 200 and headers["Content-Type"].startswith("text/html") and b"a sighting of Ann" in body
    assert gw.handle("GET", "/outboxes", {}, b"")[0] == 404
