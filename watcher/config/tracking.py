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

KINDS = ("proposal", "quote", "estimate", "offer", "contract", "agreement")


@dataclass(frozen=True, slots=True)
class Rule:
    """One `[[rules]]` table: what it matches (all given matchers must match) and what it sets."""

    number: int  # 1-based position in the config, for messages
    contact: str = ""  # an address or a shell pattern ("*@acme.example"), lower-case
    domain: str = ""  # matches the domain and its subdomains
    subject: re.Pattern[str] | None = None
    kind: str = ""
    quiet_days: int | None = None
    business_days: bool | None = None
    remind_every: tuple[int, ...] | None = None
    give_up_after: int | None = None
    ignore: bool = False
    track_internal: bool | None = None  # follow (or not) what went only to colleagues
    track: bool | None = None  # follow it whatever the classifier says, or never

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

    track: str = "proposals"  # or "all": every message I send to someone else
    default_quiet_days: int = 3
    business_days: bool = False
    remind_every: tuple[int, ...] = (3, 7, 14)
    give_up_after: int = 30
    keywords: tuple[str, ...] = ()  # extra words that make a message a proposal
    track_internal: bool = False  # also what went only to my colleagues
    keyword_prefix: str = "followup-"  # IMAP keywords: followup-10d, followup-mute, ...
    rules: tuple[Rule, ...] = ()
