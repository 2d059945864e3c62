"""Correction by the user: `watcher thread --track/--not-proposal`, the keywords `followup-track`
/ `followup-no`, the plus-addresses `+track` / `+no` and `[[rules]] track = ...`, in that order,
each shown as a reason in plain words."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from dovecot import DovecotServer, MailUser
from mailfactory import make_message

from watcher.analysis.conversations import Conversation, ThreadMessage, build_conversations
from watcher.analysis.pipeline import analyze
from watcher.analysis.rules import Override, parse_tag, resolve_correction
from watcher.analysis.tracker import ANSWERED, AWAITING, Assessment, assess
from watcher.cli.listing import as_json, format_thread
from watcher.cli.main import cli
from watcher.config.settings import parse_settings
from watcher.config.tracking import Rule, Tracking
from watcher.credentials import Secret
from watcher.digest.render import render_text
from watcher.digest.today import select_for
from watcher.identity import Identity
from watcher.mail.imap import sync_imap_account
from watcher.model import Attachment, MessageFacts
from watcher.store.migrations import MIGRATIONS
from watcher.store.store import Store

ME = "maya@corp.example"
BOB = "bob@corp.example"  # my colleague
CLIENT = "ana@acme.example"
ZONE = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 11, 23, 8, tzinfo=ZONE)
PDF = (Attachment("Proposal_Acme_v2.pdf", "application/pdf", 2000),)
PROPOSAL_TEXT = "Hi, here is our proposal. Total EUR 12,400. Please sign."


def at(day: int, hour: int = 9) -> int:
    return int(dt.datetime(2026, 11, day, hour, tzinfo=ZONE).timestamp())


def mine(
    when: int,
    *to: str,
    subject: str = "Proposal for the Acme website",
    proposal: bool = True,
    flags: tuple[str, ...] = (),
) -> ThreadMessage:
    facts = MessageFacts(
        key=f"me-{when}",
        message_id=f"<me-{when}@x>",
        from_=(("", ME),),
        to=tuple(("", a) for a in to),
        subject=subject,
        date=when,
        flags=flags,
        attachments=PDF if proposal else (),
        body_text=PROPOSAL_TEXT if proposal else "See you on Thursday.",
    )
    return ThreadMessage(facts, "work", ("Sent",), frozenset({"\\Sent"}), when)


def theirs(sender: str, when: int) -> ThreadMessage:
    facts = MessageFacts(
        key=f"{sender}-{when}",
        message_id=f"<{sender}-{when}@x>",
        from_=(("", sender),),
        to=(("", ME),),
        subject="Re: Proposal for the Acme website",
        date=when,
        body_text="Thanks, we will look at it.",
    )
    return ThreadMessage(facts, "work", ("INBOX",), frozenset(), when)


def run(
    *messages: ThreadMessage, tracking: Tracking | None = None, cli: Override | None = None
) -> Assessment:
    return assess(
        [Conversation(thread_id="t0000000001", messages=messages)],
        identity=Identity([ME]),
        tracking=tracking or Tracking(),
        overrides={"t0000000001": cli} if cli else {},
        now=NOW,
        zone=ZONE,
    )


def rule(number: int, track: bool, **matchers: str) -> Rule:
    return Rule(number=number, track=track, **matchers)  # type: ignore[arg-type]


# -- precedence --------------------------------------------------------------------------------


def decide(tracking: Tracking | None = None, **given: object) -> tuple[bool, str] | None:
    found = resolve_correction(
        tracking or Tracking(),
        contacts=[CLIENT],
        subject="Proposal",
        kind="proposal",
        **given,  # type: ignore[arg-type]
    )
    return None if found is None else (found.track, found.reason)


def test_nothing_said_leaves_it_to_the_classifier() -> None:
    assert decide(keywords=["followup-10d", "\\Seen"], plus_tags=["10d"]) is None


def test_cli_beats_keyword_beats_plus_address_beats_rules() -> None:
    tracking = Tracking(rules=(rule(1, False, domain="acme.example"),))
    assert decide(tracking) == (False, "rule 1 (domain acme.example): track = false")
    assert decide(tracking, plus_tags=["track"]) == (
        True,
        "followed because of the plus-address +track",
    )
    assert decide(tracking, plus_tags=["track"], keywords=["followup-no"]) == (
        False,
        "not followed because of the keyword followup-no",
    )
    assert decide(tracking, keywords=["followup-no"], cli=Override(track=True)) == (
        True,
        "you marked it: follow it (watcher thread --track)",
    )
    assert decide(keywords=["followup-track"], cli=Override(track=False)) == (
        False,
        "you marked it: not a proposal (watcher thread --not-proposal)",
    )


def test_a_cli_setting_about_the_quiet_period_only_says_nothing_about_following() -> None:
    assert decide(keywords=["followup-track"], cli=Override(muted=True)) == (
        True,
        "followed because of the keyword followup-track",
    )


def test_later_rules_win_and_a_rule_must_match() -> None:
    rules = (rule(1, False, domain="acme.example"), rule(2, True, contact="ana@*"))
    assert decide(Tracking(rules=rules)) == (True, "rule 2 (contact ana@*): track = true")
    assert decide(Tracking(rules=(rule(1, False, domain="other.example"),))) is None


def test_keywords_use_the_configured_prefix_and_no_wins_over_track() -> None:
    tracking = Tracking(keyword_prefix="fu-")
    assert decide(tracking, keywords=["followup-no"]) is None
    assert decide(tracking, keywords=["FU-Track"]) == (
        True,
        "followed because of the keyword FU-Track",
    )
    assert decide(keywords=["followup-track", "followup-no"]) == (
        False,
        "not followed because of the keyword followup-no",
    )


def test_the_tags_parse() -> None:
    assert parse_tag("no") == Override(track=False)
    assert parse_tag("TRACK") == Override(track=True)
    assert Override(track=False).describe() == "not a proposal"


# -- verdicts ----------------------------------------------------------------------------------


def test_followup_track_follows_what_the_classifier_rejected() -> None:
    note = mine(at(10), CLIENT, subject="Thursday", proposal=False, flags=("followup-track",))
    assert run(mine(at(10), CLIENT, subject="Thursday", proposal=False)).tracked == []
    (tracked,) = run(note).tracked
    assert (tracked.state, tracked.kind, tracked.due) == (AWAITING, "message", True)
    assert tracked.reasons[-1] == "followed because of the keyword followup-track"
    assert as_json(tracked, ZONE)["reasons"][-1] == tracked.reasons[-1]
    # It says nothing about the quiet period, so it is no source of it.
    assert not any("followup-track" in source for source in tracked.policy.sources)


def test_followup_track_follows_mail_only_to_colleagues_and_a_colleague_answers() -> None:
    sent = mine(at(10), BOB, flags=("followup-track",))
    assert run(mine(at(10), BOB)).tracked == []
    (tracked,) = run(sent, theirs(BOB, at(12))).tracked
    assert (tracked.state, tracked.kind) == (ANSWERED, "proposal")
    assert tracked.answered_by == ("", BOB)


def test_followup_no_drops_a_proposal_but_watcher_thread_still_shows_it() -> None:
    result = run(mine(at(10), CLIENT, flags=("followup-no",)))
    assert result.tracked == []
    (skipped,) = result.not_followed
    assert skipped.why == "not followed because of the keyword followup-no"
    shown = format_thread(
        Conversation("t0000000001", (skipped.message,)), [], ZONE, result.not_followed
    )
    assert "not followed: not followed because of the keyword followup-no" in shown
    assert "remove the keyword in your mail client" in shown
    assert "watcher thread t0000000001 --track" in shown


def test_a_rule_says_track_false_for_a_domain_and_a_later_one_true_for_a_contact() -> None:
    tracking = Tracking(rules=(rule(1, False, domain="acme.example"),))
    result = run(mine(at(10), CLIENT), tracking=tracking)
    assert result.tracked == []
    assert result.not_followed[0].why == "rule 1 (domain acme.example): track = false"
    both = Tracking(rules=(*tracking.rules, rule(2, True, contact=CLIENT)))
    (tracked,) = run(mine(at(10), CLIENT), tracking=both).tracked
    assert tracked.reasons[-1] == f"rule 2 (contact {CLIENT}): track = true"


def test_not_proposal_from_the_cli_beats_the_keyword_and_applies_to_the_whole_thread() -> None:
    result = run(
        mine(at(10), CLIENT, flags=("followup-track",)),
        mine(at(12), CLIENT, subject="Proposal v2"),
        cli=Override(track=False),
    )
    assert result.tracked == []
    assert [s.why for s in result.not_followed] == [
        "you marked it: not a proposal (watcher thread --not-proposal)"
    ] * 2
    assert result.not_followed[0].undo == "to follow it again: watcher thread t0000000001 --reset"


def test_track_from_the_cli_follows_my_first_message_and_the_next_one_is_a_nudge() -> None:
    first = mine(at(10), CLIENT, subject="Thursday", proposal=False)
    nudge = mine(at(12), CLIENT, subject="Re: Thursday", proposal=False)
    (tracked,) = run(first, nudge, cli=Override(track=True)).tracked
    assert tracked.message is first and tracked.since == at(12)
    assert tracked.reasons[-1] == "you marked it: follow it (watcher thread --track)"
    # A thread the classifier already follows stays as it is.
    (kept,) = run(mine(at(10), CLIENT), cli=Override(track=True)).tracked
    assert "watcher thread --track" not in " ".join(kept.reasons)


def test_a_later_message_marked_not_a_proposal_restarts_the_clock_instead_of_superseding() -> None:
    later = mine(at(12), CLIENT, subject="Proposal v2", flags=("followup-no",))
    (tracked,) = run(mine(at(10), CLIENT), later).tracked
    assert (tracked.state, tracked.since) == (AWAITING, at(12))


# -- the store ---------------------------------------------------------------------------------


def test_an_old_store_gains_the_track_column_and_keeps_its_overrides(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at INTEGER)")
    for name, script in MIGRATIONS[:6]:
        connection.executescript(script)
        connection.execute("INSERT INTO migrations VALUES (?, 0)", (name,))
    connection.execute(
        "INSERT INTO thread_overrides (thread_id, muted, done, updated_at) VALUES ('t1', 1, 0, 0)"
    )
    connection.commit()
    connection.close()
    for _ in range(2):  # safe to run twice
        with Store.open(path) as store:
            assert "0007_thread_override_track" in store.applied_migrations()
            assert store.overrides() == {"t1": Override(muted=True)}
    with Store.open(path) as store, store.transaction():
        store.set_override("t1", Override(muted=True, track=False))
        store.set_override("t2", Override(track=True))
    with Store.open(path) as store:
        assert store.overrides() == {
            "t1": Override(muted=True, track=False),
            "t2": Override(track=True),
        }


# -- the command line --------------------------------------------------------------------------


def _maildir_config(tmp_path: Path) -> Path:
    maildir = tmp_path / "Mail"
    for sub in ("cur", "new", "tmp", ".Sent/cur", ".Sent/new", ".Sent/tmp"):
        (maildir / sub).mkdir(parents=True)
    sent = maildir / ".Sent" / "cur"
    head = b"From: Maya <maya@corp.example>\r\nTo: Ana <ana@acme.example>\r\n"
    (sent / "1793000000.M1P1.test:2,S").write_bytes(
        head + b"Subject: Proposal for the Acme website\r\nMessage-ID: <p1@corp.example>\r\n"
        b"Date: Tue, 10 Nov 2026 09:00:00 +0100\r\n\r\n" + PROPOSAL_TEXT.encode() + b"\r\n"
    )
    (sent / "1793000001.M2P1.test:2,S").write_bytes(
        head + b"Subject: Lunch on Thursday\r\nMessage-ID: <n1@corp.example>\r\n"
        b"Date: Wed, 11 Nov 2026 09:00:00 +0100\r\n\r\nShall we meet at noon?\r\n"
    )
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\nlookback_days = 0\ntimezone = "Europe/Berlin"\n'
        f'[[accounts]]\nname = "w"\nmaildir = "{maildir}"\naddresses = ["maya@corp.example"]\n'
        '[digest]\nat = "07:30"\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    return config


def test_watcher_thread_not_proposal_track_and_reset(tmp_path: Path) -> None:
    config = _maildir_config(tmp_path)
    runner = CliRunner()

    def watcher(*args: str) -> str:
        result = runner.invoke(cli, ["--config", str(config), *args, "--now", "2026-11-23T08:00"])
        assert result.exit_code == 0, result.output
        return result.stdout

    def listed() -> dict[str, dict[str, object]]:
        return {t["subject"]: t for t in json.loads(watcher("list", "--all", "--json"))}

    assert runner.invoke(cli, ["--config", str(config), "sync"]).exit_code == 0
    proposal_id = str(listed()["Proposal for the Acme website"]["thread_id"])
    assert list(listed()) == ["Proposal for the Acme website"]

    shown = watcher("thread", proposal_id, "--not-proposal")
    assert f"{proposal_id}: not a proposal" in shown
    assert "not followed: you marked it: not a proposal (watcher thread --not-proposal)" in shown
    assert f"watcher thread {proposal_id} --reset" in shown
    assert listed() == {}
    assert "Proposal for the Acme website" not in watcher("digest")
    # Remembered: a plain look at the thread still says so.
    assert "you marked it: not a proposal" in watcher("thread", proposal_id)

    assert "back to the rules" in watcher("thread", proposal_id, "--reset")
    assert list(listed()) == ["Proposal for the Acme website"]

    with Store.open(tmp_path / "state" / "watcher.sqlite3") as store:
        (lunch,) = [
            c
            for c in build_conversations(store.stored_messages())
            if c.messages[0].facts.subject == "Lunch on Thursday"
        ]
    shown = watcher("thread", lunch.thread_id, "--track")
    assert "verdict: awaiting" in shown
    entry = listed()["Lunch on Thursday"]
    assert entry["kind"] == "message"
    assert entry["reasons"] == ["you marked it: follow it (watcher thread --track)"]
    assert "you marked it: follow it (watcher thread --track)" in watcher("digest")

    both = runner.invoke(
        cli, ["--config", str(config), "thread", lunch.thread_id, "--track", "--not-proposal"]
    )
    assert both.exit_code == 2
    assert "--not-proposal and --track contradict each other" in both.output
    assert len(both.output.strip().splitlines()) == 1


# -- the config ---------------------------------------------------------------------------------

_ACCOUNT = '[[accounts]]\nname = "w"\nhost = "h"\naddresses = ["maya@corp.example"]\n'


def test_track_in_rules_is_read_and_checked() -> None:
    settings = parse_settings(
        _ACCOUNT + '[[rules]]\ndomain = "acme.example"\ntrack = false\n'
        '[[rules]]\nkind = "quote"\ntrack = true\n'
    )
    assert [r.track for r in settings.tracking.rules] == [False, True]
    for bad in ('"no"', "0", "[true]"):
        with pytest.raises(Exception) as caught:
            parse_settings(_ACCOUNT + f'[[rules]]\ndomain = "acme.example"\ntrack = {bad}\n')
        message = str(caught.value)
        assert "rules[1].track must be true or false" in message and "\n" not in message


# -- a keyword set in another mail client, through a real Dovecot ------------------------------


def test_keywords_set_in_another_client_change_what_is_followed(
    imap_server: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    now = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)
    proposal = make_message(
        from_=f"Me <{mail_user.address}>",
        to="Ana <ana@acme.example>",
        subject="Proposal for Acme",
        date=now - dt.timedelta(days=6),
        body="Hi Ana,\n\nplease find our proposal attached. Total: EUR 12,400.\n",
        attachments=[("Proposal_Acme_v2.pdf", "application/pdf", b"%PDF-1.4 stub")],
    )
    lunch = make_message(
        from_=f"Me <{mail_user.address}>",
        to="Ana <ana@acme.example>",
        subject="Lunch on Thursday",
        date=now - dt.timedelta(days=5),
        body="Shall we meet at noon?\n",
    )
    proposal_uid = imap_server.append(mail_user, "Sent", proposal)
    lunch_uid = imap_server.append(mail_user, "Sent", lunch)
    settings = parse_settings(
        f'state_dir = "{tmp_path}"\ntimezone = "UTC"\n[[accounts]]\nname = "test"\n'
        f'host = "{imap_server.host}"\nport = {imap_server.port}\nsecurity = "starttls"\n'
        f'username = "{mail_user.name}"\naddresses = ["{mail_user.address}"]\n'
        f'ca_file = "{imap_server.ca_file}"\n'
    )

    def sync_and_follow(store: Store) -> dict[str, tuple[str, ...]]:
        sync_imap_account(
            settings.accounts[0],
            Secret(mail_user.password, "test"),
            store,
            lookback_days=90,
            now=now,
        )
        return {t.subject: t.reasons for t in analyze(store, settings, now).tracked}

    with Store.open(tmp_path / "watcher.sqlite3") as store:
        assert list(sync_and_follow(store)) == ["Proposal for Acme"]
        with imap_server.connect(mail_user) as client:  # the user's own mail client
            client.select_folder("Sent")
            client.add_flags([proposal_uid], ["followup-no"])
            client.add_flags([lunch_uid], ["followup-track"])
        followed = sync_and_follow(store)
        assert list(followed) == ["Lunch on Thursday"]
        assert followed["Lunch on Thursday"][-1] == (
            "followed because of the keyword followup-track"
        )
        card = render_text(select_for(store, settings, now, next_digest=None).digest)
        assert "followed because of the keyword followup-track" in card
        assert "Proposal for Acme" not in card
        (skipped,) = analyze(store, settings, now).not_followed
        assert skipped.why == "not followed because of the keyword followup-no"
