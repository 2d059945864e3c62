"""The quiet period and cadence that apply to one tracked message, and why.

Lowest to highest precedence:
1. the defaults (`default_quiet_days`, `business_days`, `remind_every`, `give_up_after`);
2. `[[rules]]` in the config, in file order, each matching contact, domain, subject or kind;
3. a plus-address of mine in To/Cc/Bcc (`me+10d@example.com`, `me+mute@example.com`);
4. an IMAP keyword on the sent message, set in any mail client (`followup-10d`, `followup-mute`);
5. what the user set with `watcher thread ID --quiet/--snooze-until/--mute/--done`.
Every source that changed something leaves a short reason, so the user can see why.

Whether a message that went only to my colleagues is followed at all: `track_internal`, then
the rules that set it (`internal_tracking`).

Whether a message is followed at all, against the classifier and the colleagues default
(`resolve_correction`), highest first: `watcher thread ID --track/--not-proposal`, the keyword
`followup-track` / `followup-no`, the plus-address `+track` / `+no`, `[[rules]] track = ...`
(later rules win).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from watcher.config.tracking import Rule, Tracking
from watcher.model import Override as Override  # its home is model; re-exported for callers

_TAG = re.compile(r"^(?:(\d{1,3})([dw])|(mute|done|no|track)|(\d{4}-\d{2}-\d{2}))$")


def parse_tag(tag: str) -> Override | None:
    """`10d`, `2w`, `mute`, `done`, `no`, `track` or `2026-12-01` (snooze until then); None
    otherwise."""
    match = _TAG.match(tag.strip().lower())
    if match is None:
        return None
    number, unit, word, day = match.groups()
    if number is not None:
        days = int(number) * (7 if unit == "w" else 1)
        return Override(quiet_days=days) if days > 0 else None
    if word == "mute":
        return Override(muted=True)
    if word == "done":
        return Override(done=True)
    if word in ("no", "track"):
        return Override(track=word == "track")
    try:
        return Override(snooze_until=date.fromisoformat(day))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Policy:
    """The quiet period and cadence in force for one tracked message, with its reasons."""

    quiet_days: int
    business_days: bool
    remind_every: tuple[int, ...]
    give_up_after: int
    ignored: bool = False
    muted: bool = False
    done: bool = False
    snooze_until: date | None = None
    sources: tuple[str, ...] = field(default=())

    def due_date(self, sent_day: date) -> date:
        """The first local day on which the message counts as gone quiet."""
        return add_days(sent_day, self.quiet_days, business_days=self.business_days)


def resolve_policy(
    tracking: Tracking,
    *,
    contacts: Sequence[str],
    subject: str,
    kind: str,
    plus_tags: Sequence[str] = (),
    keywords: Sequence[str] = (),
    cli: Override | None = None,
) -> Policy:
    """Apply defaults < rules < plus-address < keyword < CLI, keeping a reason for each."""
    policy = Policy(
        quiet_days=tracking.default_quiet_days,
        business_days=tracking.business_days,
        remind_every=tracking.remind_every,
        give_up_after=tracking.give_up_after,
        sources=(
            f"default: {tracking.default_quiet_days} "
            f"{'business ' if tracking.business_days else ''}days",
        ),
    )
    for rule in tracking.rules:
        if rule.matches(contacts, subject, kind):
            policy = _apply_rule(policy, rule)
    for tag in plus_tags:
        override = parse_tag(tag)
        if override is not None:
            policy = _apply_override(policy, override, f"plus-address +{tag}")
    prefix = tracking.keyword_prefix.lower()
    for keyword in keywords:
        lowered = keyword.lower()
        if prefix and lowered.startswith(prefix):
            override = parse_tag(lowered[len(prefix) :])
            if override is not None:
                policy = _apply_override(policy, override, f"keyword {keyword}")
    if cli is not None and not cli.empty:
        policy = _apply_override(policy, cli, "set with `watcher thread`")
    return policy


def internal_tracking(
    tracking: Tracking, *, contacts: Sequence[str], subject: str, kind: str
) -> str | None:
    """Why a message that went only to colleagues is followed all the same, or None.

    `track_internal` at the top level, then every matching rule that says it, later ones win.
    """
    source = "track_internal = true" if tracking.track_internal else None
    for rule in tracking.rules:
        if rule.track_internal is not None and rule.matches(contacts, subject, kind):
            source = f"{rule.describe()}: track_internal = true" if rule.track_internal else None
    return source


@dataclass(frozen=True, slots=True)
class Correction:
    """The user's word on whether one message is followed at all, and where it was said."""

    track: bool  # True: follow it all the same; False: not a proposal, never followed
    reason: str  # in plain words, shown with the verdict
    source: str  # "cli", "keyword", "plus-address" or "rule": says how to take it back


def resolve_correction(
    tracking: Tracking,
    *,
    contacts: Sequence[str],
    subject: str,
    kind: str,
    plus_tags: Sequence[str] = (),
    keywords: Sequence[str] = (),
    cli: Override | None = None,
) -> Correction | None:
    """Whether the user said to follow this message or not, or None (the classifier decides).

    Highest first: `watcher thread`, an IMAP keyword, a plus-address, the rules (later wins).
    Where one source says both (two keywords), "not a proposal" wins: it never nags.
    """
    if cli is not None and cli.track is not None:
        flag = "--track" if cli.track else "--not-proposal"
        said = "follow it" if cli.track else "not a proposal"
        return Correction(cli.track, f"you marked it: {said} (watcher thread {flag})", "cli")
    prefix = tracking.keyword_prefix.lower()
    tagged = [k for k in keywords if prefix and k.lower().startswith(prefix)]
    found = _said_by_tags([(k, k[len(prefix) :]) for k in tagged])
    if found is not None:
        keyword, track = found
        return Correction(
            track, f"{_verdict_word(track)} because of the keyword {keyword}", "keyword"
        )
    found = _said_by_tags([(f"+{t}", t) for t in plus_tags])
    if found is not None:
        tag, track = found
        return Correction(
            track, f"{_verdict_word(track)} because of the plus-address {tag}", "plus-address"
        )
    correction = None
    for rule in tracking.rules:
        if rule.track is not None and rule.matches(contacts, subject, kind):
            value = "true" if rule.track else "false"
            correction = Correction(rule.track, f"{rule.describe()}: track = {value}", "rule")
    return correction


def _said_by_tags(tags: Sequence[tuple[str, str]]) -> tuple[str, bool] | None:
    """(the tag as shown, its verdict) of the tag that says whether to follow, or None."""
    said = []
    for shown, tag in tags:
        override = parse_tag(tag)
        if override is not None and override.track is not None:
            said.append((shown, override.track))
    return min(said, key=lambda item: item[1]) if said else None  # False sorts first


def _verdict_word(track: bool) -> str:
    return "followed" if track else "not followed"


def _apply_rule(policy: Policy, rule: Rule) -> Policy:
    changes: dict[str, object] = {}
    said = []
    if rule.quiet_days is not None:
        changes["quiet_days"] = rule.quiet_days
        said.append(f"{rule.quiet_days} days")
    if rule.business_days is not None:
        changes["business_days"] = rule.business_days
        said.append("business days" if rule.business_days else "calendar days")
    if rule.remind_every is not None:
        changes["remind_every"] = rule.remind_every
        said.append(f"remind every {', '.join(map(str, rule.remind_every))} days")
    if rule.give_up_after is not None:
        changes["give_up_after"] = rule.give_up_after
        said.append(f"give up after {rule.give_up_after} days")
    if rule.ignore:
        changes["ignored"] = True
        said.append("ignore")
    if not said:
        return policy  # a rule that only says whether to track internal mail
    reason = f"{rule.describe()}: {', '.join(said)}"
    return replace(policy, **changes, sources=(*policy.sources, reason))  # type: ignore[arg-type]


def _apply_override(policy: Policy, override: Override, source: str) -> Policy:
    override = override.timing
    if override.empty:
        return policy  # it says only whether to follow the message (`resolve_correction`)
    changes: dict[str, object] = {}
    if override.quiet_days is not None:
        changes["quiet_days"] = override.quiet_days
        changes["business_days"] = False  # "10d" means ten days on the calendar
    if override.snooze_until is not None:
        changes["snooze_until"] = override.snooze_until
    if override.muted:
        changes["muted"] = True
    if override.done:
        changes["done"] = True
    reason = f"{source}: {override.describe()}"
    return replace(policy, **changes, sources=(*policy.sources, reason))  # type: ignore[arg-type]


def add_days(start: date, days: int, *, business_days: bool) -> date:
    """`start` plus `days` calendar days, or plus `days` working days (Monday to Friday).

    Pure date arithmetic: a daylight-saving change can neither add nor remove a day.
    """
    if not business_days:
        return start + timedelta(days=days)
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current
