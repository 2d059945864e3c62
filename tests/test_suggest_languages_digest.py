"""Suggested follow-ups in the thread's language, end to end (issue 12, the digest side):
hand-made messages in each language through `select_digest`, the sign-offs I use, the
identity a proposal was sent from, English for a language the texts do not know, the same
text in every place the digest puts it, the config's templates and signatures, `watcher
thread`, and the demo mailbox."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from threads import CLIENT, ME, ZONE, at, message, thread, verdicts

from watcher.analysis.voice import SignOff, SignOffBook
from watcher.cli.listing import format_thread
from watcher.cli.main import cli
from watcher.config.digest import DigestSettings
from watcher.config.settings import parse_settings
from watcher.digest.model import Digest, DigestGroup, DigestItem
from watcher.digest.render import render_html, render_text
from watcher.digest.select import select_digest
from watcher.digest.send import _draft_of
from watcher.errors import ConfigError
from watcher.model import Attachment

REPO = Path(__file__).resolve().parent.parent
MONDAY = datetime(2026, 11, 23, 7, 30, tzinfo=ZONE)
SETTINGS = DigestSettings(recipient=ME, sender=ME)
PDF = (Attachment("Angebot_2026-114.pdf", "application/pdf", 2000),)
LOGO = Attachment("image001.png", "image/png", 900)  # Outlook's signature logo
GERMAN = """Hallo Herr Becker,

vielen Dank für Ihre Anfrage und die Muster, die gestern angekommen sind. Anbei mein
Angebot 2026-114 für das Verpackungsdesign der Winteredition. Gesamtpreis: 6.900 EUR netto.

Passt Ihnen ein kurzes Telefonat am Dienstag oder Mittwoch, um offene Fragen zu klären?

Viele Grüße
Maya Lindqvist
"""
SPANISH = """Hola Lucía:

Muchas gracias por la videollamada del martes. Tal como acordamos, te envío el presupuesto
para la nueva identidad visual de Estudio Añil. Importe total: 5.800 € + IVA.

¿Te parece si hablamos el jueves que viene para resolver cualquier duda?

Un abrazo,
Maya
"""
NORWEGIAN = """Hei Ingrid,

Takk for en hyggelig prat i går. Her er tilbudet på det nye bookingsystemet for hytta, med
alle endringene vi snakket om. Totalpris: NOK 189 000 eks. mva.

Gi meg gjerne beskjed om hva du synes, så kan vi ta en prat neste uke.

Hilsen
Maya
"""


def one_item(
    body: str,
    *,
    sender: tuple[str, str] = ("Maya Lindqvist", ME),
    to: tuple[str, str] = ("Jonas Becker", CLIENT),
    attachments: tuple[Attachment, ...] = PDF,
    sign_offs: SignOffBook | None = None,
    settings: DigestSettings = SETTINGS,
) -> DigestItem:
    sent = message(
        sender[1],
        at(18),
        "Angebot 2026-114",
        to=to[1],
        folder="Sent",
        use="\\Sent",
        from_=(sender,),
        body_text=body,
        attachments=attachments,
    )
    sent = replace(sent, facts=replace(sent.facts, to=(to,)))  # with the contact's name
    tracked = verdicts(thread(sent), now=MONDAY)
    selection = select_digest(
        tracked, carried={}, settings=settings, now=MONDAY, zone=ZONE, sign_offs=sign_offs
    )
    (item,) = selection.digest.items
    return item


def test_a_formal_german_quote_is_followed_up_in_formal_german() -> None:
    item = one_item(GERMAN)
    assert (item.language, item.english_fallback) == ("de", False)
    text = item.suggestion
    assert text.startswith("Hallo Herr Becker,\n\nam 18. November habe ich Ihnen das Angebot")
    assert "(Angebot_2026-114.pdf)" in text and "Hätten Sie am " in text
    assert "Jonas" not in text  # I wrote to Herr Becker, not to Jonas
    assert text.endswith("\n\nViele Grüße\nMaya Lindqvist")


def test_an_informal_spanish_quote_keeps_the_colon_and_tu() -> None:
    item = one_item(SPANISH, to=("Lucía Fernández", CLIENT))
    assert item.language == "es"
    assert item.suggestion.startswith("Hola Lucía:\n\nTe envié el presupuesto")
    assert "¿Te vendría bien" in item.suggestion and " le " not in item.suggestion
    assert item.suggestion.endswith("\n\nUn saludo,\nMaya")


def test_the_sign_off_i_use_with_the_contact_closes_the_text() -> None:
    book = SignOffBook()
    book.add(CLIENT, "es", SignOff("Un abrazo,", "Maya"), at(1))
    item = one_item(SPANISH, to=("Lucía Fernández", CLIENT), sign_offs=book)
    assert item.suggestion.endswith("\n\nUn abrazo,\nMaya")
    # [digest] signature is the user's word over what was learned.
    configured = DigestSettings(recipient=ME, sender=ME, signature="Saludos,\nMaya L.")
    item = one_item(SPANISH, to=("Lucía", CLIENT), sign_offs=book, settings=configured)
    assert item.suggestion.endswith("\n\nSaludos,\nMaya L.")


def test_the_name_comes_from_the_identity_the_proposal_was_sent_from() -> None:
    item = one_item(GERMAN, sender=("Maya L. (Studio Nord)", "maya@studio-nord.example"))
    assert (item.sender_name, item.sender_address) == (
        "Maya L. (Studio Nord)",
        "maya@studio-nord.example",
    )
    assert item.suggestion.endswith("\n\nViele Grüße\nMaya L. (Studio Nord)")


def test_only_documents_are_named_not_a_signature_logo() -> None:
    item = one_item(GERMAN, attachments=(*PDF, LOGO))
    assert item.attachments == ("Angebot_2026-114.pdf", "image001.png")  # the card lists all
    assert "(Angebot_2026-114.pdf)" in item.suggestion and "image001" not in item.suggestion
    item = one_item(GERMAN, attachments=(LOGO,))
    assert "das Angebot „Angebot 2026-114“" in item.suggestion


def test_a_language_the_texts_do_not_know_gets_english_and_says_so() -> None:
    item = one_item(NORWEGIAN, to=("Ingrid Halvorsen", CLIENT))
    assert (item.language, item.english_fallback) == ("", True)
    # English words, and no Norwegian greeting of mine in them.
    assert item.suggestion.startswith("Hi Ingrid,\n\nI sent you the quote (Angebot_2026-114.pdf)")
    assert item.suggestion.endswith("\n\nBest,\nMaya")
    sent = message(
        ME, at(18), "Proposal", folder="Sent", use="\\Sent", body_text=NORWEGIAN, attachments=PDF
    )
    conversation = thread(sent)
    shown = format_thread(conversation, verdicts(conversation, now=MONDAY), ZONE)
    assert (
        "suggestion in English: the thread's language (not recognised) is not one the texts know"
        in shown
    )
    german = message(ME, at(18), "Angebot", folder="Sent", use="\\Sent", body_text=GERMAN)
    conversation = thread(german)
    shown = format_thread(conversation, verdicts(conversation, now=MONDAY), ZONE)
    assert "suggestion in German, the thread's language" in shown


def test_the_same_text_in_html_text_mailto_and_draft() -> None:
    item = one_item(GERMAN)
    digest = Digest(
        day=MONDAY.date(),
        generated_at=MONDAY,
        recipient=ME,
        message_id="<digest@x>",
        groups=(DigestGroup("Quiet for a few days", (item,)),),
        watched=1,
    )
    lines = item.suggestion.splitlines()
    page = html.unescape(re.sub(r"<br\s*/?>", "\n", render_html(digest)))
    assert all(line in page for line in lines if line)
    text = " ".join(render_text(digest).split())
    assert " ".join(item.suggestion.split()) in text
    (href,) = re.findall(r'href="(mailto:[^"]*)"', render_html(digest))
    body = parse_qs(urlsplit(html.unescape(href)).query)["body"][0]
    assert body == "\r\n".join(lines)
    settings = parse_settings(
        f'[[accounts]]\nname = "work"\nhost = "imap.x.example"\naddresses = ["{ME}"]\n'
    )
    draft = _draft_of(item, "<draft@x>", settings, digest)
    assert isinstance(draft, EmailMessage)
    assert draft.get_content().replace("\r\n", "\n").strip() == item.suggestion


# -- the config: per-language templates and signatures, one-line errors at start ------------
ACCOUNT = '[[accounts]]\nname = "w"\nhost = "imap.x.example"\naddresses = ["me@x.example"]\n'


def test_templates_and_signatures_per_language_are_read() -> None:
    digest = parse_settings(
        ACCOUNT
        + '[digest]\nsignature = """\nBest,\nMaya\n"""\n'
        + '[digest.templates]\nfirst = "{greeting}\\n\\n{about}\\n\\n{signature}"\n'
        + '[digest.templates.de]\nfirst = "{greeting}\\n\\nzu {about}"\n'
        + 'signature = "Viele Grüße\\nMaya"\n'
    ).digest
    assert digest.signature == "Best,\nMaya"
    assert dict(digest.templates) == {
        "first": "{greeting}\n\n{about}\n\n{signature}",
        "de.first": "{greeting}\n\nzu {about}",
        "de.signature": "Viele Grüße\nMaya",
    }


def test_the_example_configs_template_lines_load_when_uncommented() -> None:
    example = (REPO / "config.example.toml").read_text(encoding="utf-8")
    lines = [
        line.split("#", 2)[1].strip() if line.startswith("# [digest.templates") else line[2:]
        for line in example.splitlines()
        if re.match(r"# (\[digest\.templates|first = |signature = )", line)
    ]
    digest = parse_settings(ACCOUNT + "[digest]\n" + "\n".join(lines) + "\n").digest
    assert {name for name, _ in digest.templates} == {"first", "de.signature"}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            '[digest.templates.de]\nfirst = "Hallo {vorname},"\n',
            "config line 6: digest.templates.de.first unknown placeholder {vorname}; use "
            "{first_name}, ",
        ),
        (
            '[digest.templates.de]\nlast = "Hallo {greeting"\n',
            "config line 6: digest.templates.de.last ",
        ),
        (
            '[digest.templates.no]\nfirst = "Hei {first_name},"\n',
            "config line 6: digest.templates.no.first is not a language of the texts (en, de, "
            "fr, es, nl, it, pt, sv): write [digest.templates.de] etc.",
        ),
        (
            '[digest.templates.de]\nerste = "Hallo"\n',
            "config line 6: digest.templates.de.erste is not a known setting (known here: "
            "first, last, long_quiet, reminder, signature)",
        ),
        (
            "[digest.templates.de]\nfirst = 1\n",
            'digest.templates must be a table of strings, e.g. first = "..."',
        ),
        (
            '[digest]\nsignature = "Best,\\u001b[2J"\n',
            "config line 6: digest.signature contains a line break or other control character",
        ),
        (
            '[digest]\nsignature = "1\\n2\\n3\\n4\\n5\\n6\\n7"\n',
            "config line 6: digest.signature has 7 lines; a sign-off is a closing and a name",
        ),
        (
            '[digest.templates.fr]\nsignature = "Bien à vous,\\u0007"\n',
            "config line 6: digest.templates.fr.signature contains a line break or other "
            "control character",
        ),
    ],
)
def test_a_bad_template_or_signature_is_one_line_at_start(table: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(ACCOUNT + table)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


# -- the demo: German in German with Herr Becker and Sie, Spanish in Spanish -----------------


def test_the_demo_follows_up_each_quote_in_its_own_language(tmp_path: Path) -> None:
    config = tmp_path / "demo.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\nlookback_days = 0\n[[accounts]]\nname = "demo"\n'
        f'maildir = "{REPO / "watcher" / "demo_mailbox"}"\n'
        'addresses = ["maya@lindqvist-studio.example"]\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(config), "sync"]).exit_code == 0
    shown = runner.invoke(cli, ["--config", str(config), "digest", "--now", "2026-11-23T08:00"])
    assert shown.exit_code == 0, shown.output
    text = re.sub(r"\n    ", "\n", shown.output)  # the suggestion's indent in the text part
    german = text[text.index("Hallo Herr Becker,\n\nam 18. November") :]
    german = german[: german.index("Maya Lindqvist") + len("Maya Lindqvist")]
    assert "Hätten Sie" in german and "Ihnen" in german and "(Angebot_2026-114.pdf)" in german
    assert german.endswith("Viele Grüße\nMaya Lindqvist")
    spanish = text[text.index("Hola Lucía:\n\nTe envié el presupuesto") :]
    assert "19 de noviembre" in " ".join(spanish.split()[:14])
    assert re.match(r"(?s).*?\n\nUn (saludo|abrazo),\nMaya\n", spanish)
