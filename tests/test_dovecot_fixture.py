"""The private Dovecot fixture itself works as the other tests assume."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import ssl
import time

import pytest
from dovecot import SPECIAL_USE_FOLDERS, DovecotServer, MailUser
from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from mailfactory import make_message

WHEN = dt.datetime(2024, 3, 5, 14, 7, 9, tzinfo=dt.timezone(dt.timedelta(hours=2)))


def _message(n: int = 1, **kwargs: object) -> bytes:
    fields: dict[str, object] = {
        "from_": "alice@example.test",
        "to": "bob@example.net",
        "subject": f"Proposal #{n}",
        "date": WHEN,
    }
    fields.update(kwargs)
    return make_message(**fields)  # type: ignore[arg-type]


def test_login_over_plain_port(imap_server: DovecotServer, mail_user: MailUser) -> None:
    with IMAPClient(imap_server.host, port=imap_server.port, ssl=False) as client:
        assert b"STARTTLS" in client.capabilities()
        client.login(mail_user.name, mail_user.password)
        for capability in ("CONDSTORE", "QRESYNC", "IDLE", "SPECIAL-USE", "UIDPLUS", "MOVE"):
            assert client.has_capability(capability), capability
    assert mail_user.address == f"{mail_user.name}@example.test"


def test_new_users_log_in_at_once_and_bad_passwords_cost_no_penalty(
    imap_server: DovecotServer,
) -> None:
    users = [imap_server.add_user() for _ in range(3)]
    for user in users:  # no wait for Dovecot to reread a passwd-file
        with imap_server.connect(user) as client:
            assert client.select_folder("INBOX")[b"EXISTS"] == 0
    with pytest.raises(LoginError):
        imap_server.connect(MailUser(users[0].name, "wrong"))
    began = time.monotonic()
    with imap_server.connect(users[0]):
        pass
    assert time.monotonic() - began < 1.5  # Dovecot's auth penalty would be 2 s or more


def test_starttls_verifies_with_the_ca_file(
    imap_server: DovecotServer, mail_user: MailUser
) -> None:
    context = ssl.create_default_context(cafile=str(imap_server.ca_file))
    with IMAPClient(imap_server.host, port=imap_server.port, ssl=False) as client:
        client.starttls(context)
        client.login(mail_user.name, mail_user.password)
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0


def test_implicit_tls_verifies_with_the_ca_file(
    imap_server: DovecotServer, mail_user: MailUser
) -> None:
    with IMAPClient(
        imap_server.host, port=imap_server.ssl_port, ssl=True, ssl_context=imap_server.ssl_context()
    ) as client:
        client.login(mail_user.name, mail_user.password)
    # The certificate names localhost too.
    with (
        socket.create_connection(("localhost", imap_server.ssl_port), timeout=10) as raw,
        imap_server.ssl_context().wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.recv(100).startswith(b"* OK")


def test_tls_refused_without_the_ca_file(imap_server: DovecotServer) -> None:
    untrusting = ssl.create_default_context()  # system CAs only
    client = IMAPClient(imap_server.host, port=imap_server.port, ssl=False, timeout=10)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            client.starttls(untrusting)
    finally:
        # The failed handshake already closed the socket: only the reader is left to close.
        with contextlib.suppress(OSError):
            client.shutdown()
    with (
        socket.create_connection((imap_server.host, imap_server.ssl_port), timeout=10) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        untrusting.wrap_socket(raw, server_hostname=imap_server.host)


def test_special_use_folders_exist_at_first_login(
    imap_server: DovecotServer, mail_user: MailUser
) -> None:
    with imap_server.connect(mail_user) as client:
        listed = {name: flags for flags, _sep, name in client.list_folders()}
        subscribed = {name for _flags, _sep, name in client.list_sub_folders()}
        for name, flag in SPECIAL_USE_FOLDERS.items():
            assert flag.encode() in listed[name], name
            assert name in subscribed
            assert client.find_special_folder(flag.encode()) == name
        assert "INBOX" in listed


def test_append_round_trips_internal_date_and_flags(
    imap_server: DovecotServer, mail_user: MailUser
) -> None:
    uid = imap_server.append(
        mail_user, "Clients/Acme", _message(), flags=("\\Seen", "$Proposal"), internal_date=WHEN
    )
    with imap_server.connect(mail_user) as client:
        client.normalise_times = False
        client.select_folder("Clients/Acme", readonly=True)
        data = client.fetch([uid], ["INTERNALDATE", "FLAGS", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
    # The instant round-trips; Maildir keeps no zone (it comes back in the server's zone).
    assert data[uid][b"INTERNALDATE"] == WHEN
    assert set(data[uid][b"FLAGS"]) - {b"\\Recent"} == {b"\\Seen", b"$Proposal"}
    assert b"Subject: Proposal #1" in data[uid][b"BODY[HEADER.FIELDS (SUBJECT)]"]
    # A second append into the existing folder gets the next UID.
    assert imap_server.append(mail_user, "Clients/Acme", _message(2)) == uid + 1


def test_append_many_uses_batches_and_keeps_dates(
    imap_server: DovecotServer, mail_user: MailUser
) -> None:
    dates = [WHEN + dt.timedelta(days=n) for n in range(25)]
    uids = imap_server.append_many(
        mail_user, "INBOX", [(_message(n), date) for n, date in enumerate(dates)], batch=10
    )
    uids += imap_server.append_many(mail_user, "INBOX", [_message(99)], flags=["\\Seen"])
    assert uids == list(range(1, 27))
    with imap_server.connect(mail_user) as client:
        client.normalise_times = False
        client.select_folder("INBOX", readonly=True)
        fetched = client.fetch(uids, ["INTERNALDATE", "FLAGS"])
    assert [fetched[uid][b"INTERNALDATE"] for uid in uids[:25]] == dates
    assert set(fetched[26][b"FLAGS"]) - {b"\\Recent"} == {b"\\Seen"}
    state = imap_server.folder_state(mail_user, "INBOX")
    assert state["exists"] == 26
    assert state["flags"][26] == ("\\Seen",)
    assert state["flags"][1] == ()


def test_folder_state_is_stable_and_sees_changes(
    imap_server: DovecotServer, mail_user: MailUser
) -> None:
    imap_server.append_many(mail_user, "INBOX", [_message(n) for n in range(3)])
    first = imap_server.folder_state(mail_user)
    # A read-only reader (what the watcher must be) changes nothing, \Recent included.
    with imap_server.connect(mail_user) as client:
        client.select_folder("INBOX", readonly=True)
        client.fetch([1, 2, 3], ["BODY.PEEK[]", "FLAGS"])
    assert imap_server.folder_state(mail_user) == first
    assert imap_server.folder_state(mail_user) == first
    assert set(first) == {"uidvalidity", "uidnext", "highestmodseq", "exists", "flags"}
    assert first["exists"] == 3
    assert first["uidnext"] == 4
    # A flag change shows in both the flags and HIGHESTMODSEQ.
    with imap_server.connect(mail_user) as client:
        client.select_folder("INBOX")
        client.add_flags([2], ["\\Seen"])
    after = imap_server.folder_state(mail_user)
    assert after["flags"][2] == ("\\Seen",)
    assert after["highestmodseq"] > first["highestmodseq"]
    states = imap_server.all_folder_states(mail_user)
    assert set(states) == {"INBOX", *SPECIAL_USE_FOLDERS}
    assert states["INBOX"] == after


@pytest.mark.parametrize("folder", ["INBOX", "Clients/Acme"])
def test_change_uidvalidity_keeps_the_messages(
    imap_server: DovecotServer, mail_user: MailUser, folder: str
) -> None:
    imap_server.append_many(mail_user, folder, [_message(n) for n in range(3)])
    imap_server.append(mail_user, folder, _message(3), flags=("\\Answered",))
    before = imap_server.folder_state(mail_user, folder)
    new = imap_server.change_uidvalidity(mail_user, folder)
    after = imap_server.folder_state(mail_user, folder)
    assert new == after["uidvalidity"] != before["uidvalidity"]
    assert after["exists"] == before["exists"] == 4
    assert after["flags"] == before["flags"]
    # And again: each call gives a new value.
    assert imap_server.change_uidvalidity(mail_user, folder) != new


def test_change_uidvalidity_renumber_recreates_the_folder(
    imap_server: DovecotServer, mail_user: MailUser
) -> None:
    imap_server.append_many(
        mail_user, "Clients/Acme", [(_message(n), WHEN + dt.timedelta(hours=n)) for n in range(3)]
    )
    imap_server.append(mail_user, "Clients/Acme", _message(3), flags=("\\Seen", "$Proposal"))
    before = imap_server.folder_state(mail_user, "Clients/Acme")
    new = imap_server.change_uidvalidity(mail_user, "Clients/Acme", renumber=True)
    after = imap_server.folder_state(mail_user, "Clients/Acme")
    assert new == after["uidvalidity"] != before["uidvalidity"]
    assert after["exists"] == 4
    assert sorted(after["flags"].values()) == sorted(before["flags"].values())
    with imap_server.connect(mail_user) as client:
        client.normalise_times = False
        client.select_folder("Clients/Acme", readonly=True)
        uids = client.search("ALL")
        fetched = client.fetch(uids, ["INTERNALDATE"])
    assert [fetched[uid][b"INTERNALDATE"] for uid in uids[:3]] == [
        WHEN + dt.timedelta(hours=n) for n in range(3)
    ]
    with pytest.raises(ValueError, match="INBOX"):
        imap_server.change_uidvalidity(mail_user, "INBOX", renumber=True)


def test_message_factory_builds_threads_and_attachments() -> None:
    raw = make_message(
        from_="Alice <alice@example.test>",
        to=["bob@example.net", "carol@example.net"],
        subject="Re: Angebot für Q3",
        date=WHEN,
        message_id="<reply@example.test>",
        in_reply_to="<first@example.test>",
        references=["<first@example.test>"],
        headers={"X-Mailer": "tests"},
        attachments=[("offer.pdf", "application/pdf", b"%PDF-1.4 fake")],
    )
    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert b"Message-ID: <reply@example.test>\r\n" in raw
    assert b"In-Reply-To: <first@example.test>\r\n" in raw
    assert b"References: <first@example.test>\r\n" in raw
    assert b"To: bob@example.net, carol@example.net\r\n" in raw
    assert b"Date: Tue, 05 Mar 2024 14:07:09 +0200\r\n" in raw
    assert b'filename="offer.pdf"' in raw
