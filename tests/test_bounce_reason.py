"""Why a proposal bounced, from the delivery report, in words the user acts on."""

from __future__ import annotations

import pytest

from watcher.analysis.signals import bounce_reason

POSTFIX = (
    "<ana@acme.example>: host mx1.acme.example[192.0.2.25] said: 550 5.1.1\n"
    "    <ana@acme.example>: Recipient address rejected: User unknown\n"
    "    in virtual mailbox table (in reply to RCPT TO command)\n\n"
    "Final-Recipient: rfc822; ana@acme.example\nAction: failed\nStatus: 5.1.1\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <ana@acme.example>: Recipient\n"
    "    address rejected: User unknown in virtual mailbox table\n"
)
EXCHANGE_TEXT = (
    "Your message\n\n  To:      Ana\n  Subject: Proposal for the Acme website\n\n"
    "did not reach the following recipient(s):\n\n"
    "ana@acme.example on 11/10/2026 9:06 AM\n"
    "            The e-mail account does not exist at the organization this message was sent to.\n"
)
GMAIL = (
    "The response from the remote server was:\n"
    "552 5.2.2 The email account that you tried to reach is over quota.\n"
)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            POSTFIX,
            "the address does not exist (550 5.1.1 <ana@acme.example>: Recipient address "
            "rejected: User unknown in virtual mailbox table)",
        ),
        (
            GMAIL,
            "the mailbox is full (552 5.2.2 The email account that you tried to reach is over"
            " quota.)",
        ),
        (EXCHANGE_TEXT, "the address does not exist"),
        ("Status: 5.7.1\n", "the receiving server refused it (policy or spam filter)"),
        ("Action: failed\n", ""),
    ],
)
def test_the_reason_comes_from_the_report_in_plain_words_first(text: str, reason: str) -> None:
    assert bounce_reason(text) == reason


def test_a_long_server_text_is_clipped() -> None:
    reason = bounce_reason("Diagnostic-Code: smtp; 550 5.1.1 " + "x" * 400 + "\n")
    assert len(reason) < 200 and reason.endswith("…)")
