from __future__ import annotations

import re
from datetime import date

import pytest

from watcher.analysis.rules import (
    Override,
    add_days,
    internal_tracking,
    parse_tag,
    resolve_policy,
)
from watcher.config.settings import parse_settings
from watcher.config.tracking import Rule, Tracking
from watcher.errors import ConfigError

ACCOUNT = '[[accounts]]\nname = "w"\nhost = "h"\naddresses = ["me@x.example"]\n'


def test_add_calendar_and_business_days() -> None:
    friday = date(2026, 11, 20)
    assert add_days(friday, 3, business_days=False) == date(2026, 11, 23)
    assert add_days(friday, 1, business_days=True) == date(2026, 11, 23)  # over the weekend
    assert add_days(friday, 3, business_days=True) == date(2026, 11, 25)
    saturday = date(2026, 11, 21)
    assert add_days(saturday, 1, business_days=True) == date(2026, 11, 23)
    # Across the end of summer time (Europe: 25 Oct 2026): dates, not hours, are counted.
    assert add_days(date(2026, 10, 24), 3, business_days=False) == date(2026, 10, 27)


def test_parse_tag() -> None:
    assert parse_tag("10d") == Override(quiet_days=10)
    assert parse_tag("2W") == Override(quiet_days=14)
    assert parse_tag("mute") == Override(muted=True)
    assert parse_tag("done") == Override(done=True)
    assert parse_tag("2026-12-01") == Override(snooze_until=date(2026, 12, 1))
    for bad in ("0d", "soon", "2026-13-01", "10", ""):
        assert parse_tag(bad) is None


def test_precedence_defaults_rules_plus_keyword_cli() -> None:
    tracking = Tracking(
        rules=(
            Rule(number=1, domain="acme.example", quiet_days=7, business_days=True),
            Rule(number=2, subject=re.compile("renewal", re.I), remind_every=(7, 14)),
            Rule(number=3, contact="*@spam.example", ignore=True),
        )
    )
    plain = resolve_policy(tracking, contacts=["a@other.example"], subject="Quote", kind="quote")
    assert (plain.quiet_days, plain.business_days, plain.ignored) == (3, False, False)
    assert plain.sources == ("default: 3 days",)

    ruled = resolve_policy(
        tracking, contacts=["ana@sales.acme.example"], subject="Contract renewal", kind="contract"
    )
    assert (ruled.quiet_days, ruled.business_days, ruled.remind_every) == (7, True, (7, 14))
    assert ruled.sources[1] == "rule 1 (domain acme.example): 7 days, business days"

    plus = resolve_policy(
        tracking, contacts=["ana@acme.example"], subject="x", kind="", plus_tags=["10d"]
    )
    assert (plus.quiet_days, plus.business_days) == (10, False)
    keyword = resolve_policy(
        tracking,
        contacts=["ana@acme.example"],
        subject="x",
        kind="",
        plus_tags=["10d"],
        keywords=["$Forwarded", "followup-5d"],
    )
    assert keyword.quiet_days == 5
    assert keyword.sources[-1] == "keyword followup-5d: quiet 5 days"
    cli = resolve_policy(
        tracking,
        contacts=["ana@acme.example"],
        subject="x",
        kind="",
        keywords=["followup-5d"],
        cli=Override(quiet_days=12, muted=True),
    )
    assert (cli.quiet_days, cli.muted) == (12, True)
    ignored = resolve_policy(tracking, contacts=["x@spam.example"], subject="x", kind="")
    assert ignored.ignored


def test_due_date_uses_the_policy() -> None:
    tracking = Tracking(default_quiet_days=2, business_days=True)
    policy = resolve_policy(tracking, contacts=[], subject="", kind="")
    assert policy.due_date(date(2026, 11, 20)) == date(2026, 11, 24)


def test_tracking_settings_from_config() -> None:
    settings = parse_settings(
        'track = "all"\ndefault_quiet_days = 5\nbusiness_days = true\nremind_every = [2, 4]\n'
        'give_up_after = 21\nkeywords = ["retainer"]\n'
        + ACCOUNT
        + '\n[[rules]]\ndomain = "@BigCorp.example"\nquiet_days = 10\n'
        + '\n[[rules]]\nsubject = "(?i)renewal"\nkind = "contract"\nignore = true\n'
    )
    tracking = settings.tracking
    assert (tracking.track, tracking.default_quiet_days, tracking.business_days) == ("all", 5, True)
    assert (tracking.remind_every, tracking.give_up_after, tracking.keywords) == (
        (2, 4),
        21,
        ("retainer",),
    )
    first, second = tracking.rules
    assert (first.domain, first.quiet_days, first.business_days) == ("bigcorp.example", 10, None)
    assert second.ignore and second.kind == "contract" and second.subject is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("default_quiet_days = 0\n", "config line 1: default_quiet_days must be a whole number"),
        ('track = "some"\n', 'config line 1: track must be "proposals" or "all"'),
        ("remind_every = [3, -1]\n", "config line 1: remind_every must be a list of positive"),
        (ACCOUNT + "[[rules]]\nquiet_days = 4\n", "config line 5: rules[1] matches everything"),
        (ACCOUNT + '[[rules]]\nsubject = "("\n', "config line 6: rules[1].subject is not a valid"),
        (ACCOUNT + '[[rules]]\nkind = "lunch"\n', "config line 6: rules[1].kind must be one of"),
        (ACCOUNT + '[[rules]]\ndomain = "a.b"\nquiet = 3\n', "rules[1].quiet is not a known"),
    ],
)
def test_tracking_errors_name_line_and_fix(text: str, message: str) -> None:
    if ACCOUNT not in text:
        text += ACCOUNT
    with pytest.raises(ConfigError) as caught:
        parse_settings(text)
    assert str(caught.value).startswith(message) or message in str(caught.value)


def test_internal_tracking_setting_then_rules_later_ones_win() -> None:
    finance = Rule(number=1, domain="finance.corp.example", track_internal=True)
    legal = Rule(number=2, contact="lee@corp.example", track_internal=False)
    tracking = Tracking(rules=(finance, legal))

    def why(*contacts: str, base: Tracking = tracking) -> str | None:
        return internal_tracking(base, contacts=contacts, subject="Contract", kind="contract")

    assert why("bob@corp.example") is None
    assert why("fi@finance.corp.example") == (
        "rule 1 (domain finance.corp.example): track_internal = true"
    )
    assert why("fi@finance.corp.example", "lee@corp.example") is None
    everything = Tracking(track_internal=True, rules=(legal,))
    assert why("bob@corp.example", base=everything) == "track_internal = true"
    assert why("lee@corp.example", base=everything) is None
