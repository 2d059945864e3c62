"""Commands by mail, the pure part: the action words, the codes, and reading command mail."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from watcher.analysis.actions import (
    DONE,
    MUTE,
    NOT_A_PROPOSAL,
    SNOOZE,
    Action,
    ActionError,
    parse_action,
    parse_snooze,
)
from watcher.analysis.commandcodes import command_code, digest_tag, verified_day
from watcher.analysis.commandmail import (
    KnownDigest,
    is_command_mail,
    parse_reply_line,
    read_commands,
)
from watcher.identity import Identity
from watcher.model import APPLIED, IGNORED, REPLAYED, UNREADABLE, MessageFacts, StoredMessage

KEY = b"k" * 32
ZONE = ZoneInfo("Europe/Berlin")
ME = "maya@studio.example"
THREAD = "t3728c3029e"
DIGEST_ID = "<digest-20261203-abc@followup-watcher.invalid>"
DIGESTS = {DIGEST_ID: KnownDigest(date(2026, 12, 3), ("t1111111111", "t2222222222", THREAD))}


def _at(day: int, hour: int = 8) -> int:
    return int(datetime(2026, 12, day, hour, 12, tzinfo=ZONE).timestamp())


def _mail(
    subject: str,
    *,
    sender: str = ME,
    message_id: str = "<c1@phone>",
    when: int | None = None,
    in_reply_to: str = "",
    body: str = "",
    folder: str = "Sent",
) -> StoredMessage:
    facts = MessageFacts(
        key=f"{folder}-{message_id}",
        message_id=message_id,
        in_reply_to=in_reply_to,
        from_=(("Maya", sender),),
        to=(("", "maya+followup@studio.example"),),
        subject=subject,
        date=_at(3) if when is None else when,
        body_text=body,
        is_from_me=True,
    )
    return StoredMessage("work", folder, "\\Sent" if folder == "Sent" else "", facts)


def _read(*messages: StoredMessage, seen: tuple[str, ...] = (), applied: tuple[str, ...] = ()):
    return read_commands(
        messages,
        identity=Identity([ME]),
        key=KEY,
        digests=DIGESTS,
        seen=seen,
        applied=applied,
        zone=ZONE,
    )


def _link_subject(action: str, day: date = date(2026, 12, 3), thread: str = THREAD) -> str:
    return f"[followup {thread}] {action} · {command_code(KEY, thread, action, day)}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("done", Action(DONE)),
        ("Done.", Action(DONE)),
        ("erledigt", Action(DONE)),
        ("Fait", Action(DONE)),
        ("mute", Action(MUTE)),
        ("not a proposal", Action(NOT_A_PROPOSAL)),
        ("Kein Angebot", Action(NOT_A_PROPOSAL)),
        ("pas une offre", Action(NOT_A_PROPOSAL)),
        ("snooze 7d", Action(SNOOZE, days=7)),
        ("snooze 1w", Action(SNOOZE, days=7)),
        ("snooze 2 weeks", Action(SNOOZE, days=14)),
        ("+4d", Action(SNOOZE, days=4)),
        ("snooze", Action(SNOOZE, days=7)),
        ("später 3 Tage", Action(SNOOZE, days=3)),
        ("snooze until 2026-12-14", Action(SNOOZE, until=date(2026, 12, 14))),
        ("snooze until monday", Action(SNOOZE, weekday=0)),
        ("later tomorrow", Action(SNOOZE, days=1)),
    ],
)
def test_actions_are_read_in_the_words_people_write(text: str, expected: Action) -> None:
    assert parse_action(text) == expected


@pytest.mark.parametrize(
    "text", ["", "thanks", "done twice", "snooze 0d", "snooze 500d", "snooze 3x", "snooze until"]
)
def test_what_is_not_an_action_says_so(text: str) -> None:
    with pytest.raises(ActionError):
        parse_action(text)


def test_a_snooze_until_a_weekday_is_the_next_one_never_the_same_day() -> None:
    thursday = date(2026, 12, 3)
    assert parse_snooze("until thursday").snooze_until(thursday) == date(2026, 12, 10)
    assert parse_snooze("monday").snooze_until(thursday) == date(2026, 12, 7)
    assert parse_snooze("1w").snooze_until(thursday) == date(2026, 12, 10)


def test_the_canonical_text_reads_back_as_the_same_action() -> None:
    for action in (Action(DONE), Action(SNOOZE, days=14), Action(SNOOZE, weekday=4)):
        assert parse_action(action.text) == action


def test_a_code_verifies_for_its_thread_action_and_day_only() -> None:
    day = date(2026, 12, 3)
    code = command_code(KEY, THREAD, "snooze 7d", day)
    assert len(code) == 9 and code[4] == "-"
    assert verified_day(KEY, THREAD, "snooze 7d", code, date(2026, 12, 5)) == day
    assert verified_day(KEY, THREAD, "snooze 7d", code.lower().replace("-", ""), day) == day
    assert verified_day(KEY, THREAD, "snooze 14d", code, day) is None
    assert verified_day(KEY, "t0000000000", "snooze 7d", code, day) is None
    assert verified_day(b"x" * 32, THREAD, "snooze 7d", code, day) is None
    assert verified_day(KEY, THREAD, "snooze 7d", code, date(2027, 3, 1)) is None  # expired


def test_the_digest_tag_depends_on_the_secret() -> None:
    day = date(2026, 12, 3)
    assert digest_tag(KEY, ME, day) == digest_tag(KEY, ME.upper(), day)
    assert digest_tag(KEY, ME, day) != digest_tag(b"x" * 32, ME, day)


def test_a_one_tap_command_is_applied_with_its_snooze_counted_from_its_day() -> None:
    [command] = _read(_mail(_link_subject("snooze 7d")))
    assert command.state == APPLIED
    assert (command.thread_id, command.action) == (THREAD, "snooze 7d")
    assert command.snooze_until == date(2026, 12, 10)


def test_a_client_prefix_or_encoding_does_not_stop_a_command() -> None:
    [command] = _read(_mail("Re: " + _link_subject("done")))
    assert command.state == APPLIED
    # A client that lost the middle dot to a wrong charset.
    [mangled] = _read(_mail(_link_subject("mute").replace("·", "?"), message_id="<m@x>"))
    assert mangled.state == APPLIED


def test_a_forged_from_a_wrong_code_and_a_changed_action_are_ignored_without_content() -> None:
    good = _link_subject("mute")
    forged_from = _mail(good, sender="mallory@evil.example", message_id="<a@x>")
    wrong_code = _mail(good[:-4] + "AAAA", message_id="<b@x>")
    changed = _mail(good.replace("mute", "done"), message_id="<c@x>")
    found = _read(forged_from, wrong_code, changed)
    assert [c.state for c in found] == [IGNORED] * 3
    assert all(THREAD not in c.detail and not c.thread_id for c in found)


def test_the_same_mail_twice_and_a_replayed_command_do_nothing_new() -> None:
    subject = _link_subject("snooze 7d")
    sent, inbox = _mail(subject), _mail(subject, folder="INBOX")
    assert len(_read(sent, inbox)) == 1  # one Message-ID, two copies
    assert _read(sent, seen=("<c1@phone>",)) == []
    again = _mail(subject, message_id="<c2@phone>", when=_at(5))
    first, second = _read(sent, again)
    assert (first.state, second.state) == (APPLIED, REPLAYED)


def test_a_link_from_a_later_digest_is_a_new_command() -> None:
    first = _mail(_link_subject("snooze 7d"))
    later = _mail(_link_subject("snooze 7d", date(2026, 12, 10)), message_id="<c2@p>", when=_at(10))
    assert [c.state for c in _read(first, later)] == [APPLIED, APPLIED]


def test_a_reply_to_a_digest_applies_one_command_per_line() -> None:
    body = (
        "2 done\n3 snooze 1w\nmute 1\n\nThanks!\n--\nMaya\n\n"
        "On Thu, 3 Dec 2026, followup-watcher wrote:\n> 1. Ana Costa ...\n"
    )
    reply = _mail("Re: 3 proposals waiting", in_reply_to=DIGEST_ID, body=body)
    found = _read(reply)
    assert [(c.line, c.thread_id, c.action) for c in found] == [
        (1, "t2222222222", "done"),
        (2, THREAD, "snooze 7d"),
        (3, "t1111111111", "mute"),
    ]


def test_a_digest_reply_line_that_cannot_be_read_is_quoted_with_the_reason() -> None:
    reply = _mail("Re: digest", in_reply_to=DIGEST_ID, body="2 done\n9 done\n3 snooze soonish\n")
    found = _read(reply)
    assert [c.state for c in found] == [APPLIED, UNREADABLE, UNREADABLE]
    assert "“9 done”" in found[1].detail and "no card 9" in found[1].detail
    assert "“3 snooze soonish”" in found[2].detail


def test_a_reply_to_an_unknown_digest_or_from_someone_else_is_ignored() -> None:
    unknown = _mail("Re: x", in_reply_to="<digest-20261101-zz@followup-watcher.invalid>")
    stranger = _mail("Re: x", in_reply_to=DIGEST_ID, sender="m@evil.example", message_id="<s@x>")
    assert [c.state for c in _read(unknown, stranger)] == [IGNORED, IGNORED]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2 done", (2, Action(DONE))),
        ("2. done", (2, Action(DONE))),
        ("#3 snooze 2w", (3, Action(SNOOZE, days=14))),
        ("4 +4d", (4, Action(SNOOZE, days=4))),
        ("mute 5", (5, Action(MUTE))),
        ("6 not a proposal", (6, Action(NOT_A_PROPOSAL))),
        ("1 snooze until 2026-12-14", (1, Action(SNOOZE, until=date(2026, 12, 14)))),
        ("Thanks, see you at 5", None),
        ("Good morning", None),
    ],
)
def test_digest_reply_lines(line: str, expected: object) -> None:
    assert parse_reply_line(line, 6) == expected


def test_an_action_without_a_card_number_asks_which_card() -> None:
    why = parse_reply_line("done", 6)
    assert isinstance(why, str) and "which card" in why


def test_only_command_mail_is_kept_out_of_conversations() -> None:
    assert is_command_mail(_mail(_link_subject("done")))
    assert is_command_mail(_mail("Re: digest", in_reply_to=DIGEST_ID))
    assert not is_command_mail(_mail("[followup] our proposal"))
    assert not is_command_mail(_mail("Re: proposal", in_reply_to="<x@acme.example>"))
