"""Who "me" is, and who my colleagues are.

Me: the account's addresses, its aliases, and their plus-addressed forms.
My colleagues: anyone at the domain of an address I send from (or a subdomain of it), unless
that domain is a public mail provider, plus whatever the config's `colleagues` names.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

# Public mail providers: sharing one of these domains with me says nothing about working
# together. Hand-kept from the largest free-mail services by users (the providers' own sign-up
# pages; HubSpot's public list of free email domains for the regional ones). Not exhaustive:
# an address at a provider missing here only makes that provider's users look like colleagues
# of someone who sends from it, and `colleagues` or a rule with `track_internal` corrects it.
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "passport.com",
        "ymail.com",
        "rocketmail.com",
        "aol.com",
        "aim.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "web.de",
        "t-online.de",
        "freenet.de",
        "arcor.de",
        "mail.ru",
        "inbox.ru",
        "list.ru",
        "bk.ru",
        "rambler.ru",
        "proton.me",
        "protonmail.com",
        "protonmail.ch",
        "pm.me",
        "tutanota.com",
        "tuta.io",
        "fastmail.com",
        "fastmail.fm",
        "zoho.com",
        "zohomail.com",
        "mailbox.org",
        "posteo.de",
        "posteo.net",
        "hey.com",
        "qq.com",
        "foxmail.com",
        "163.com",
        "126.com",
        "yeah.net",
        "sina.com",
        "naver.com",
        "daum.net",
        "hanmail.net",
        "seznam.cz",
        "wp.pl",
        "o2.pl",
        "interia.pl",
        "onet.pl",
        "libero.it",
        "virgilio.it",
        "orange.fr",
        "wanadoo.fr",
        "free.fr",
        "laposte.net",
        "sfr.fr",
        "bluewin.ch",
        "comcast.net",
        "verizon.net",
        "att.net",
        "sbcglobal.net",
        "bellsouth.net",
        "earthlink.net",
        "cox.net",
        "charter.net",
        "btinternet.com",
        "sky.com",
        "rediffmail.com",
        "uol.com.br",
        "bol.com.br",
        "terra.com.br",
        "mail.com",
        "email.com",
        "usa.com",
        "inbox.com",
        "lycos.com",
        "excite.com",
        "juno.com",
        "netzero.net",
        "hushmail.com",
        "runbox.com",
        "disroot.org",
        "riseup.net",
    }
)
# Providers with one domain per country (hotmail.co.uk, yahoo.fr, gmx.at, yandex.ru, ...):
# the provider's name followed by a country or generic top-level domain.
PUBLIC_MAIL_BRANDS = frozenset({"hotmail", "yahoo", "gmx", "yandex", "outlook", "live"})


_NAME_WORD = re.compile(r"[^\W\d_]{2,}")


def domain_of(address: str) -> str:
    """The part after the last "@", lower-case, without a trailing dot."""
    return address.rpartition("@")[2].lower().rstrip(".")


def name_key(name: str) -> str:
    """A display name as a comparable key: its words (two letters or more), casefolded and
    sorted ("Roensch, David" and "david roensch" agree); "" when fewer than two words, as a
    one-word name ("Info", "Anna") says too little about who it is."""
    words = sorted({w.casefold() for w in _NAME_WORD.findall(name)})
    return " ".join(words) if len(words) >= 2 else ""


def is_public_mail_domain(domain: str) -> bool:
    """gmail.com, mail.yahoo.co.uk, email.msn.com: a domain anyone can have an address at."""
    labels = domain.lower().rstrip(".").split(".")
    for start in range(len(labels) - 1):
        if ".".join(labels[start:]) in PUBLIC_MAIL_DOMAINS:
            return True
        # "yahoo.co.uk", "gmx.de": the brand, then at most two short top-level labels.
        rest = labels[start + 1 :]
        if (
            labels[start] in PUBLIC_MAIL_BRANDS
            and len(rest) <= 2
            and all(len(r) <= 3 for r in rest)
        ):
            return True
    return False


def in_domain(address_or_host: str, domain: str) -> bool:
    """Whether an address (or a host name) is at `domain` or one of its subdomains."""
    host = domain_of(address_or_host)
    return host == domain or host.endswith("." + domain)


class Identity:
    """Answers "is this address mine?" and "is it a colleague's?" for the user.

    `me+anything@domain` is mine when `me@domain` is: plus-addressing is how users tag mail
    to themselves (and how a Bcc to `me+10d@domain` sets a quiet period).

    `colleagues` are shell-style address patterns (`*@corp.example`, `jane@partner.example`)
    or bare domains (`partner.example`, subdomains included), lower-case.
    """

    __slots__ = (
        "_addresses",
        "_colleague_patterns",
        "_known",
        "_known_colleagues",
        "_names",
        "_own_domains",
    )

    def __init__(
        self,
        addresses: Iterable[str],
        *,
        colleagues: Iterable[str] = (),
        domains: Iterable[str] = (),
        names: Iterable[str] = (),
    ) -> None:
        self._addresses = frozenset(a.strip().lower() for a in addresses if a.strip())
        # The display names I send under, as `name_key` gives them (two words at least).
        self._names = frozenset(key for key in map(name_key, names) if key)
        self._colleague_patterns = tuple(
            dict.fromkeys(p.strip().lower().lstrip("@") for p in colleagues if p.strip())
        )
        # The domains I send from, as evidence of my organisation: those of my addresses and
        # any given (the From of my sent mail), never a public provider's domain.
        found = {domain_of(a) for a in self._addresses} | {d.lower().strip(".") for d in domains}
        self._own_domains = tuple(
            sorted(d for d in found if "." in d and not is_public_mail_domain(d))
        )
        self._known: dict[str, bool] = {}  # answers so far: the same addresses come back
        self._known_colleagues: dict[str, str | None] = {}

    @property
    def addresses(self) -> frozenset[str]:
        return self._addresses

    @property
    def own_domains(self) -> tuple[str, ...]:
        """The domains whose people are my colleagues (public providers left out)."""
        return self._own_domains

    def with_sent_from(self, senders: Iterable[tuple[str, str]]) -> Identity:
        """This identity, also taking what the From (name, address) of my sent mail says:
        the domains I send from, and the names I send under from my own addresses."""
        senders = list(senders)
        extra = {domain_of(a) for _, a in senders} - set(self._own_domains)
        names = {
            key for name, address in senders if self.is_me(address) and (key := name_key(name))
        }
        new_domains = any("." in d and not is_public_mail_domain(d) for d in extra)
        if not new_domains and names <= self._names:
            return self
        return Identity(
            self._addresses,
            colleagues=self._colleague_patterns,
            domains=(*self._own_domains, *extra),
            names=(*self._names, *names),
        )

    def is_my_name(self, name: str) -> bool:
        """Is this display name one I send under? ("Maya Lindqvist" on my other address.)"""
        return bool(self._names) and name_key(name) in self._names

    def is_me(self, address: str) -> bool:
        known = self._known.get(address)
        if known is None:
            if len(self._known) >= 100_000:
                self._known.clear()
            known = self._known[address] = self._decide(address)
        return known

    def _decide(self, address: str) -> bool:
        address = address.lower()
        if address in self._addresses:
            return True
        local, at, domain = address.partition("@")
        if not at or "+" not in local:
            return False
        return f"{local.split('+', 1)[0]}@{domain}" in self._addresses

    def is_colleague(self, address: str) -> bool:
        """Someone in my organisation (not me): see `colleague_because`."""
        return self.colleague_because(address) is not None

    def colleague_because(self, address: str) -> str | None:
        """What makes `address` a colleague of mine (a domain of mine or a configured
        pattern, as the user would recognise it), or None when it is not one (or is me)."""
        if address in self._known_colleagues:
            return self._known_colleagues[address]
        if len(self._known_colleagues) >= 100_000:
            self._known_colleagues.clear()
        found = self._known_colleagues[address] = self._colleague_source(address)
        return found

    def _colleague_source(self, address: str) -> str | None:
        lowered = address.strip().lower()
        if "@" not in lowered or self.is_me(lowered):
            return None
        for domain in self._own_domains:
            if in_domain(lowered, domain):
                return domain
        for pattern in self._colleague_patterns:
            if "@" in pattern:
                if fnmatch.fnmatchcase(lowered, pattern):
                    return pattern
            elif in_domain(lowered, pattern):
                return pattern
        return None

    def plus_tag(self, address: str) -> str | None:
        """The tag of a plus-address of mine (`me+10d@x` gives "10d"), else None."""
        local, at, domain = address.lower().partition("@")
        if not at or "+" not in local:
            return None
        base, tag = local.split("+", 1)
        return tag if f"{base}@{domain}" in self._addresses else None
