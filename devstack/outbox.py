"""The local outbox: a page listing the e-mails and text messages the stack has sent (moto's SES and SNS)."""

from __future__ import annotations

from html import escape

from devstack.inbox import SentEmail, SentText

PATH = "/outbox"
REFRESH_S = 5


def page(emails: list[SentEmail], texts: list[SentText]) -> bytes:
    """The outbox as one HTML page (e-mails newest first), refreshed every few seconds; every value escaped."""
    mails = "".join(_email(n, m) for n, m in reversed(list(enumerate(emails, start=1))))
    sms = "".join(f"<tr><td>{n}</td><td>{escape(t.to)}</td><td>{escape(t.message)}</td></tr>"
                  for n, t in reversed(list(enumerate(texts, start=1))))
    body = (f"<h1>Local outbox</h1><p>What this local stack has sent; nothing leaves the machine. "
            f"The page reloads every {REFRESH_S} s.</p>"
            f"<h2>E-mails ({len(emails)})</h2>{mails or '<p>None yet.</p>'}"
            f"<h2>Text messages ({len(texts)})</h2>"
            + (f"<table><thead><tr><th>#</th><th>To</th><th>Message</th></tr></thead><tbody>{sms}</tbody></table>"
               if texts else "<p>None yet.</p>"))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta http-equiv="refresh" content="{REFRESH_S}"><title>Outbox - FaceTrace (local)</title>'
            f'<link rel="stylesheet" href="/portal/style.css">'
            f'<style>pre {{ white-space: pre-wrap; overflow-wrap: anywhere; }}</style></head><body><main>{body}</main></body></html>').encode()


def _email(number: int, mail: SentEmail) -> str:
    return (f'<article class="email"><h3>#{number}: {escape(mail.subject)}</h3>'
            f"<p>From {escape(mail.source)} to {escape(', '.join(mail.to))}</p><pre>{escape(mail.body)}</pre></article>")
