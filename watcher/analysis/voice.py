"""How I write: the greeting and register I used, and the way I sign my mail.

Pure functions over my own text (quotes removed); no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Greeting", "SignOff", "SignOffBook", "greeting_of", "sign_off_of"]


@dataclass(frozen=True, slots=True)
class Greeting:
    """The salutation line of my text and the form of address of the whole text."""

    text: str  # the salutation line exactly as I wrote it, stripped; "" if none
    formal: bool | None  # True: Sie / vous / usted / a title + family name; None: cannot tell
    name: str  # the name as I used it: "Herr Becker", "Lucía", "Ms Raman"; "" if none


def greeting_of(text: str, language: str) -> Greeting:
    """The salutation of my own text (the first non-empty line, when it is one) and the register
    of the whole text (pronouns and verb forms, in that language)."""
    return Greeting(text="", formal=None, name="")


@dataclass(frozen=True, slots=True)
class SignOff:
    """The closing line and the name under it at the end of a message I wrote."""

    closing: str  # "Best," "Viele Grüße" "Cordialement," ; "" when only a name
    name: str  # "Maya" / "Maya Lindqvist" ; "" when only a closing


def sign_off_of(text: str, my_names: Sequence[str] = ()) -> SignOff | None:
    """The closing and the name at the end of one message I wrote (before the signature block
    / the quoted part), or None when it has none. `my_names`: display names I send under."""
    return None


class SignOffBook:
    """What I sign with: per contact address, and per language."""

    def __init__(self) -> None:
        self._seen: list[tuple[str, str, SignOff, int]] = []

    def add(self, contact: str, language: str, sign_off: SignOff, when: int) -> None:
        """Record that I signed a message to `contact` in `language` at `when` (epoch seconds)."""
        self._seen.append((contact, language, sign_off, when))

    def best(self, contact: str, language: str) -> SignOff | None:
        """The closing and name I use most with this contact (in this language when I have one,
        else with this contact at all), else the one I use most in my recent mail in that
        language; None if nothing."""
        return None
