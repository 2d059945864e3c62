"""IMAP sync against the real, private Dovecot started by the `imap_server` fixture."""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import running_dovecot
from dovecot import DovecotServer, MailUser
from imapaccount import NOW, account_for, run_sync
from mailfactory import make_message, new_message_id

from watcher.analysis.conversations import build_conversations
from watcher.credentials import Secret
from watcher.errors import AuthenticationError, ImapError
from watcher.mail.connection import probe_tls
from watcher.mail.imap import sync_imap_account
from watcher.store.store import Store


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def proposal(user: MailUser, when: dt.datetime, subject: str = "Proposal for Acme") -> bytes:
    return make_message(
        from_=f"Me <{user.address}>",
        to="Client <client@acme.example>",
        subject=subject,
        date=when,
        body="Hi Ana,\n\nplease find our proposal attached. Total: EUR 12,400.\n\nBest, me\n",
        attachments=[("Proposal_Acme_v2.pdf", "application/pdf", b"%PDF-1.4 stub")],
    )


def note(when: dt.datetime, subject: str = "Hello", **kwargs: object) -> bytes:
    return make_message(
        from_="Ana <ana@acme.example>", to="me@example.test", subject=subject, date=when, **kwargs
    )  # type: ignore[arg-type]


def test_first_sync_reads_exactly_the_lookback_window(
    imap_server: DovecotServer, mail_user: MailUser, fresh_store: Store
) -> None:
    for age in (200, 31, 29, 3, 0.1):
        imap_server.append(
            mail_user, "INBOX", note(days_ago(age), f"age {age}"), internal_date=days_ago(age)
        )
    report = run_sync(imap_server, mail_user, fresh_store, lookback_days=30)
    assert sorted(m.subject for m in fresh_store.messages()) == ["age 0.1", "age 29", "age 3"]
    assert report.new == 3


def test_lookback_zero_reads_everything(
    imap_server: DovecotServer, mail_user: MailUser, fresh_store: Store
) -> None:
    for age in (4000, 2):
        imap_server.append(mail_user, "INBOX", note(days_ago(age)), internal_date=days_ago(age))
    run_sync(imap_server, mail_user, fresh_store, lookback_days=0)
    assert fresh_store.count_messages() == 2


def test_facts_of_a_sent_proposal_and_a_reply(
    imap_server: DovecotServer, mail_user: MailUser, fresh_store: Store
) -> None:
    sent_id = new_message_id()
    imap_server.append(
        mail_user,
        "Sent",
        proposal(mail_user, days_ago(5))
        .replace(b"Message-ID: <", b"X-Old: <", 1)
        .replace(b"Subject:", f"Message-ID: {sent_id}\r\nSubject:".encode(), 1),
        flags=["\\Seen", "followup-10d"],
        internal_date=days_ago(5),
    )
    imap_server.append(
        mail_user,
        "Clients/Acme",
        note(days_ago(3), "Re: Proposal for Acme", in_reply_to=sent_id, references=[sent_id]),
        internal_date=days_ago(3),
    )
    run_sync(imap_server, mail_user, fresh_store)
    (sent,) = fresh_store.messages(folder="Sent")
    assert sent.message_id == sent_id
    assert sent.is_from_me
    assert sent.subject == "Proposal for Acme"
    assert sent.to == (("Client", "client@acme.example"),)
    assert "followup-10d" in sent.flags and "\\Seen" in sent.flags
    assert [(a.filename, a.content_type) for a in sent.attachments] == [
        ("Proposal_Acme_v2.pdf", "application/pdf")
    ]
    assert sent.body_text.startswith("Hi Ana,")
    assert sent.internal_date == int(days_ago(5).timestamp())
    assert sent.size and sent.size > 100
    assert sent.modseq is not None
    (reply,) = fresh_store.messages(folder="Clients/Acme")  # replies live outside the inbox
    assert reply.in_reply_to == sent_id
    assert reply.references == (sent_id,)
    assert not reply.is_from_me
    assert reply.body_text == ""  # other people's text is not kept


def test_auto_reply_markers_and_bounce(
    imap_server: DovecotServer, mail_user: MailUser, fresh_store: Store
) -> None:
    imap_server.append(
        mail_user,
        "INBOX",
        note(
            days_ago(1),
            "Out of Office: Proposal",
            headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes", "Precedence": "bulk"},
        ),
    )
    bounce = (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\n"
        b"To: me@example.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        b"Date: Mon, 23 Nov 2026 06:00:00 +0000\r\nMessage-ID: <bounce1@mx.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nThis is the mail system. Your mail bounced.\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; nobody@acme.example\r\n"
        b"Action: failed\r\nStatus: 5.1.1\r\n\r\n"
        b"--B\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: me@example.test\r\nTo: nobody@acme.example\r\nSubject: Proposal\r\n"
        b"Message-ID: <original-proposal@example.test>\r\n\r\nHi\r\n"
        b"--B--\r\n"
    )
    imap_server.append(mail_user, "INBOX", bounce)
    run_sync(imap_server, mail_user, fresh_store)
    by_subject = {m.subject: m for m in fresh_store.messages()}
    ooo = by_subject["Out of Office: Proposal"]
    assert (ooo.auto_submitted, ooo.x_autoreply, ooo.precedence) == ("auto-replied", "yes", "bulk")
    report = by_subject["Undelivered Mail Returned to Sender"]
    assert report.content_type == "multipart/report"
    assert report.report_type == "delivery-status"
    assert report.reported_message_id == "<original-proposal@example.test>"


def test_second_sync_with_no_change_opens_no_folder(
    imap_server: DovecotServer, mail_user: MailUser, fresh_store: Store
) -> None:
    imap_server.append(mail_user, "INBOX", note(days_ago(1)))
    imap_server.append(mail_user, "Sent", proposal(mail_user, days_ago(2)))
    first = run_sync(imap_server, mail_user, fresh_store)
    assert first.new == 2
    second = run_sync(imap_server, mail_user, fresh_store)
    assert second.folders == []  # no folder was opened or fetched
    assert second.folders_checked == first.folders_checked
    assert fresh_store.count_messages() == 2


def test_new_mail_keyword_changes_and_expunges_are_picked_up(
    imap_server: DovecotServer, mail_user: MailUser, fresh_store: Store
) -> None:
    sent_uid = imap_server.append(mail_user, "Sent", proposal(mail_user, days_ago(4)))
    gone_uid = imap_server.append(mail_user, "INBOX", note(days_ago(3), "to be deleted"))
    run_sync(imap_server, mail_user, fresh_store)
    imap_server.append(mail_user, "INBOX", note(days_ago(0), "new one"))
    with imap_server.connect(mail_user) as client:  # the user's own mail client at work
        client.select_folder("Sent")
        client.add_flags([sent_uid], ["followup-mute"])
        client.select_folder("INBOX")
        client.delete_messages([gone_uid])
        client.expunge()
    report = run_sync(imap_server, mail_user, fresh_store)
    assert (report.new, report.flag_changes, report.removed) == (1, 1, 1)
    (sent,) = fresh_store.messages(folder="Sent")
    assert "followup-mute" in sent.flags
    assert sorted(m.subject for m in fresh_store.messages(folder="INBOX")) == ["new one"]


def test_uidvalidity_change_rescans_that_folder_only(
    imap_server: DovecotServer, mail_user: MailUser, fresh_store: Store
) -> None:
    imap_server.append(mail_user, "Archive", note(days_ago(2), "archived"))
    imap_server.append(mail_user, "Archive", note(days_ago(1), "archived too"))
    imap_server.append(mail_user, "INBOX", note(days_ago(1), "inbox"))
    run_sync(imap_server, mail_user, fresh_store)
    imap_server.change_uidvalidity(mail_user, "Archive", renumber=True)
    report = run_sync(imap_server, mail_user, fresh_store)
    assert [f.name for f in report.folders if f.rescanned] == ["Archive"]
    assert sorted(m.subject for m in fresh_store.messages(folder="Archive")) == [
        "archived",
        "archived too",
    ]
    assert fresh_store.count_messages() == 3
    uidvalidity = fresh_store.folder_states("test")["Archive"].uidvalidity
    assert all(m.key.startswith(f"{uidvalidity}:") for m in fresh_store.messages(folder="Archive"))


def test_a_full_sync_changes_nothing_on_the_server(
    imap_server: DovecotServer, mail_user: MailUser, fresh_store: Store
) -> None:
    imap_server.append(mail_user, "INBOX", note(days_ago(1), "unread"))  # no \Seen
    imap_server.append(mail_user, "INBOX", note(days_ago(2), "read"), flags=["\\Seen"])
    imap_server.append(mail_user, "Sent", proposal(mail_user, days_ago(3)), flags=["\\Seen"])
    imap_server.append(mail_user, "Junk", note(days_ago(1), "spam?"))
    before = imap_server.all_folder_states(mail_user)
    run_sync(imap_server, mail_user, fresh_store)
    run_sync(imap_server, mail_user, fresh_store)
    assert imap_server.all_folder_states(mail_user) == before
    assert before["INBOX"]["flags"]  # the comparison compared something


def test_drafts_are_not_read_and_folders_can_be_excluded(
    imap_server: DovecotServer, mail_user: MailUser, fresh_store: Store
) -> None:
    imap_server.append(mail_user, "Drafts", note(days_ago(1), "draft"))
    imap_server.append(mail_user, "Newsletters", note(days_ago(1), "news"))
    imap_server.append(mail_user, "INBOX", note(days_ago(1), "inbox"))
    run_sync(imap_server, mail_user, fresh_store, exclude_folders=("Newsletters",))
    assert [m.subject for m in fresh_store.messages()] == ["inbox"]


def test_a_vanished_folder_is_forgotten(
    imap_server: DovecotServer, mail_user: MailUser, fresh_store: Store
) -> None:
    imap_server.append(mail_user, "Projects", note(days_ago(1), "in a folder"))
    run_sync(imap_server, mail_user, fresh_store)
    assert fresh_store.count_messages() == 1
    with imap_server.connect(mail_user) as client:
        client.rename_folder("Projects", "Projects-2026")
    run_sync(imap_server, mail_user, fresh_store)
    assert [(m.subject) for m in fresh_store.messages(folder="Projects-2026")] == ["in a folder"]
    assert "Projects" not in fresh_store.folder_states("test")
    assert fresh_store.count_messages() == 1


def test_implicit_tls_with_the_named_ca(
    imap_server: DovecotServer, mail_user: MailUser, fresh_store: Store
) -> None:
    imap_server.append(mail_user, "INBOX", note(days_ago(1)))
    run_sync(imap_server, mail_user, fresh_store, security="ssl", port=imap_server.ssl_port)
    assert fresh_store.count_messages() == 1


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_self_signed_server_is_refused_without_ca_file(
    imap_server: DovecotServer, mail_user: MailUser, fresh_store: Store, security: str
) -> None:
    port = imap_server.ssl_port if security == "ssl" else imap_server.port
    with pytest.raises(ImapError) as caught:
        run_sync(imap_server, mail_user, fresh_store, security=security, port=port, ca_file=None)
    message = str(caught.value)
    assert "could not be verified" in message and "set ca_file" in message
    assert "\n" not in message


def test_ca_file_that_is_not_a_certificate_names_ca_file_not_the_port(
    imap_server: DovecotServer, mail_user: MailUser, fresh_store: Store, tmp_path: Path
) -> None:
    not_a_certificate = tmp_path / "notes.txt"
    not_a_certificate.write_text("my server's certificate is somewhere else\n")
    for security, port in (("starttls", imap_server.port), ("ssl", imap_server.ssl_port)):
        with pytest.raises(ImapError) as caught:
            run_sync(
                imap_server,
                mail_user,
                fresh_store,
                security=security,
                port=port,
                ca_file=not_a_certificate,
            )
        message = str(caught.value)
        assert message.startswith(f"account 'test': ca_file {not_a_certificate} is not a PEM")
        assert "point ca_file at the server's certificate" in message
        assert "port" not in message and "\n" not in message
    with pytest.raises(ImapError, match="is not a PEM certificate"):
        probe_tls(account_for(imap_server, mail_user, ca_file=not_a_certificate))


def test_wrong_password_is_one_clear_error(
    imap_server: DovecotServer, mail_user: MailUser, fresh_store: Store
) -> None:
    with pytest.raises(AuthenticationError) as caught:
        sync_imap_account(
            account_for(imap_server, mail_user),
            Secret("wrong-password-123", "test"),
            fresh_store,
            lookback_days=90,
            now=NOW,
        )
    message = str(caught.value)
    assert message.startswith("account 'test': the server 127.0.0.1 refused the login")
    assert "check the username and the password" in message
    assert "wrong-password-123" not in message


def test_unreachable_server_is_one_clear_error(
    imap_server: DovecotServer, mail_user: MailUser, fresh_store: Store
) -> None:
    with pytest.raises(ImapError, match="refused the connection; check host, port and security"):
        run_sync(imap_server, mail_user, fresh_store, port=1)


# A server with neither CONDSTORE nor LIST-STATUS (many hosted servers): polls fall back to
# one STATUS per folder, and keyword changes on sent mail to comparing the Sent folder's flags.
MINIMAL_CAPABILITIES = "imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE SPECIAL-USE"


@pytest.fixture(scope="module")
def minimal_imap_server() -> Iterator[DovecotServer]:
    yield from running_dovecot(MINIMAL_CAPABILITIES)


def test_server_without_condstore_or_list_status(
    minimal_imap_server: DovecotServer, fresh_store: Store
) -> None:
    server = minimal_imap_server
    user = server.add_user()
    sent_uid = server.append(user, "Sent", proposal(user, days_ago(4)))
    server.append(user, "INBOX", note(days_ago(3)))
    with server.connect(user) as client:
        assert b"CONDSTORE" not in client.capabilities()
        assert b"LIST-STATUS" not in client.capabilities()
    first = run_sync(server, user, fresh_store)
    assert first.new == 2
    (sent,) = fresh_store.messages(folder="Sent")
    assert sent.modseq is None
    idle = run_sync(server, user, fresh_store)
    assert [f.name for f in idle.folders] == ["Sent"]  # only Sent is opened, to compare flags
    assert idle.new == 0 and idle.flag_changes == 0
    with server.connect(user) as client:
        client.select_folder("Sent")
        client.add_flags([sent_uid], ["followup-mute"])
    server.append(user, "INBOX", note(days_ago(0), "new"))
    report = run_sync(server, user, fresh_store)
    assert (report.new, report.flag_changes) == (1, 1)
    (sent,) = fresh_store.messages(folder="Sent")
    assert "followup-mute" in sent.flags


def _raw_message(*headers: bytes, body: bytes = b"Hello.\r\n") -> bytes:
    return b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


def _folded(name: bytes, words: list[bytes]) -> bytes:
    lines = [b" ".join(words[i : i + 40]) for i in range(0, len(words), 40)]
    return name + b": " + b"\r\n ".join(lines)


def test_huge_headers_are_capped_and_a_reply_with_a_huge_references_still_threads(
    imap_server: DovecotServer, mail_user: MailUser, fresh_store: Store, tmp_path: Path
) -> None:
    user = mail_user
    date = b"Date: " + email.utils.format_datetime(days_ago(3)).encode()
    big_subject = _folded(b"Subject", [b"spam%d" % n for n in range(150_000)])  # ~1.2 MB
    imap_server.append_many(
        user,
        "INBOX",
        [
            _raw_message(
                b"From: Spam <spam@junk.example>",
                b"To: " + user.address.encode(),
                b"Message-ID: <big-%d@junk.example>" % n,
                date,
                big_subject,
            )
            for n in range(12)
        ],
    )
    root = b"<root-proposal@studio.example>"
    imap_server.append(
        user,
        "Sent",
        _raw_message(
            b"From: Me <" + user.address.encode() + b">",
            b"To: Ana <ana@acme.example>",
            b"Message-ID: " + root,
            date,
            b"Subject: Proposal for Acme",
        ),
    )
    ancestors = [root] + [b"<hop-%d@lists.acme.example>" % n for n in range(4999)]
    imap_server.append(
        user,
        "INBOX",
        _raw_message(
            b"From: Ana <ana@acme.example>",
            b"To: " + user.address.encode(),
            b"Message-ID: <the-reply@acme.example>",
            date,
            b"Subject: something else entirely",  # only References ties it to the proposal
            _folded(b"References", ancestors),
        ),
    )
    report = run_sync(imap_server, user, fresh_store)
    assert report.new == 14
    stored = list(fresh_store.messages())
    assert max(len(m.subject) for m in stored) == 1000
    reply = next(m for m in stored if m.message_id == "<the-reply@acme.example>")
    assert reply.references[0] == root.decode() and len(reply.references) <= 25
    conversations = build_conversations(fresh_store.stored_messages())
    (thread,) = [c for c in conversations if len(c.messages) > 1]
    assert {m.facts.message_id for m in thread.messages} == {
        root.decode(),
        "<the-reply@acme.example>",
    }
    fresh_store.close()
    size = sum(p.stat().st_size for p in tmp_path.iterdir() if p.name.startswith("watcher"))
    assert size < 1_000_000  # 13 MB of headers on the server


@pytest.mark.parametrize("condstore", [True, False], ids=["condstore", "compare-flags"])
def test_flag_changes_are_fetched_in_batches_and_none_is_missed(
    condstore: bool,
    imap_server: DovecotServer,
    minimal_imap_server: DovecotServer,
    fresh_store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A mass change ("mark all as read") must not become one reply over the reader's limit."""
    import watcher.mail.imap as imap_module

    monkeypatch.setattr(imap_module, "FLAG_BATCH", 2)
    server = imap_server if condstore else minimal_imap_server
    user = server.add_user()
    uids = [server.append(user, "Sent", proposal(user, days_ago(5 - n))) for n in range(5)]
    run_sync(server, user, fresh_store)
    with server.connect(user) as client:
        client.select_folder("Sent")
        client.delete_messages([uids[2]])  # a gap between batches
        client.expunge()
        client.add_flags(uids[:2] + uids[3:], ["followup-done"])
    report = run_sync(server, user, fresh_store)
    assert report.flag_changes == 4
    sent = list(fresh_store.messages(folder="Sent"))
    assert len(sent) == 4 and all("followup-done" in m.flags for m in sent)


def test_expunges_are_found_in_batches(
    imap_server: DovecotServer,
    mail_user: MailUser,
    fresh_store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One `SEARCH ALL` of a big folder is a response line over imaplib's 1 MB limit."""
    import watcher.mail.imap as imap_module

    monkeypatch.setattr(imap_module, "SEARCH_BATCH", 2)
    uids = [
        imap_server.append(mail_user, "INBOX", note(days_ago(5 - n), f"n{n}")) for n in range(5)
    ]
    run_sync(imap_server, mail_user, fresh_store)
    with imap_server.connect(mail_user) as client:
        client.select_folder("INBOX")
        client.delete_messages([uids[0], uids[3], uids[4]])
        client.expunge()
    report = run_sync(imap_server, mail_user, fresh_store)
    assert report.removed == 3
    assert sorted(m.subject for m in fresh_store.messages(folder="INBOX")) == ["n1", "n2"]
