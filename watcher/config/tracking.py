"""What to track and the `[[rules]]` of config.toml, as frozen settings.

The logic that applies them (the quiet period, the cadence, the user's corrections) lives in
`watcher.analysis.rules`; the settings live here so that the config loader needs nothing from
the analysis.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass

from watcher.config.checks import SettingError, check_days, check_days_list, setting, validate

KINDS = ("proposal", "quote", "estimate", "offer", "contract", "agreement")


def check_kind(value: str) -> str | None:
    return None if not value or value in KINDS else f"must be one of {', '.join(KINDS)}"


def check_track(value: str) -> str | None:
    return None if value in ("proposals", "all") else 'must be "proposals" or "all"'


def _lower(text: str) -> str:
    return text.strip().lower()


def _domain(text: str) -> str:
    return text.strip().lower().lstrip("@")


@dataclass(frozen=True, slots=True)
class Rule:
    """One `[[rules]]` table: what it matches (all given matchers must match) and what it sets."""

    number: int  # 1-based position in the config, for messages
    # an address or a shell pattern ("*@acme.example"), lower-case
    contact: str = setting("", clean=_lower)
    domain: str = setting("", clean=_domain)  # matches the domain and its subdomains
    subject: re.Pattern[str] | None = setting(None, kind="pattern", free_text=True)
    kind: str = setting("", check=check_kind)
    quiet_days: int | None = setting(None, kind="whole", check=check_days)
    business_days: bool | None = setting(None, kind="flag")
    remind_every: tuple[int, ...] | None = setting(None, kind="days", check=check_days_list)
    give_up_after: int | None = setting(None, kind="whole", check=check_days)
    ignore: bool = setting(False)
    # follow (or not) what went only to colleagues
    track_internal: bool | None = setting(None, kind="flag")
    track: bool | None = setting(None, kind="flag")  # follow it whatever the classifier says

    def __post_init__(self) -> None:
        where = f"rules[{self.number}]"
        validate(self, where)
        if not (self.contact or self.domain or self.subject or self.kind):
            raise SettingError(
                where, "", "matches everything; give it contact, domain, subject or kind"
            )

    def matches(self, contacts: Sequence[str], subject: str, kind: str) -> bool:
        if self.contact and not any(fnmatch.fnmatchcase(c, self.contact) for c in contacts):
            return False
        if self.domain and not any(_in_domain(c, self.domain) for c in contacts):
            return False
        if self.subject is not None and not self.subject.search(subject):
            return False
        return not self.kind or self.kind == kind

    def describe(self) -> str:
        matchers = []
        if self.contact:
            matchers.append(f"contact {self.contact}")
        if self.domain:
            matchers.append(f"domain {self.domain}")
        if self.subject is not None:
            matchers.append(f"subject /{self.subject.pattern}/")
        if self.kind:
            matchers.append(f"kind {self.kind}")
        return f"rule {self.number} ({', '.join(matchers)})"


def _in_domain(address: str, domain: str) -> bool:
    host = address.rpartition("@")[2]
    return host == domain or host.endswith("." + domain)


@dataclass(frozen=True, slots=True)
class Tracking:
    """What to track and the default quiet period and cadence (top level of config.toml)."""

    # or "all": every message I send to someone else
    track: str = setting("proposals", check=check_track)
    default_quiet_days: int = setting(3, check=check_days)
    business_days: bool = setting(False)
    remind_every: tuple[int, ...] = setting((3, 7, 14), kind="days", check=check_days_list)
    give_up_after: int = setting(30, check=check_days)
    keywords: tuple[str, ...] = setting((), kind="texts")  # words that make a proposal
    track_internal: bool = setting(False)  # also what went only to my colleagues
    # IMAP keywords: followup-10d, followup-mute, ...
    keyword_prefix: str = setting("followup-")
    rules: tuple[Rule, ...] = setting((), kind="table")  # [[rules]]: checked when built

    def __post_init__(self) -> None:
        validate(self, "")
