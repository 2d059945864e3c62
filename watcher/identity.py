"""Who "me" is: the account's addresses, its aliases, and their plus-addressed forms."""

from __future__ import annotations

from collections.abc import Iterable


class Identity:
    """Answers "is this address mine?" for one account.

    `me+anything@domain` is mine when `me@domain` is: plus-addressing is how users tag mail
    to themselves (and how a Bcc to `me+10d@domain` sets a quiet period).
    """

    __slots__ = ("_addresses", "_known")

    def __init__(self, addresses: Iterable[str]) -> None:
        self._addresses = frozenset(a.strip().lower() for a in addresses if a.strip())
        self._known: dict[str, bool] = {}  # answers so far: the same addresses come back

    @property
    def addresses(self) -> frozenset[str]:
        return self._addresses

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

    def plus_tag(self, address: str) -> str | None:
        """The tag of a plus-address of mine (`me+10d@x` gives "10d"), else None."""
        local, at, domain = address.lower().partition("@")
        if not at or "+" not in local:
            return None
        base, tag = local.split("+", 1)
        return tag if f"{base}@{domain}" in self._addresses else None
