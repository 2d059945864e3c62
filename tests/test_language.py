"""language_of: the language of my own words, among the eight the suggestions are written in.

Hand-written mail in each language, the demo mailbox's real messages, the Scandinavian
neighbours (not Swedish), other languages and text too short to tell ("").
"""

from __future__ import annotations

import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest
from demomailbox import DEMO
from hypothesis import given
from hypothesis import strategies as st

from watcher.analysis.language import LANGUAGES, language_of
from watcher.analysis.owntext import own_text

MAIL = {
    "en": "Hi Tom,\n\nI've attached the revised quote with the changes we discussed on "
    "Monday. Would Thursday or Friday work for a short call?\n\nBest,\nMaya",
    "de": "Hallo Anna,\n\nanbei das überarbeitete Angebot mit den Änderungen, die wir am "
    "Montag besprochen haben. Hast du am Donnerstag kurz Zeit?\n\nViele Grüße\nMaya",
    "fr": "Bonjour Claire,\n\nVous trouverez ci-joint le devis révisé avec les modifications "
    "dont nous avons parlé lundi. Seriez-vous disponible jeudi ?\n\nCordialement,\nMaya",
    "es": "Hola Marta:\n\nTe adjunto el presupuesto revisado con los cambios que hablamos el "
    "lunes. ¿Te viene bien una llamada el jueves?\n\nUn saludo,\nMaya",
    "nl": "Hoi Sanne,\n\nIn de bijlage vind je de herziene offerte met de wijzigingen die we "
    "maandag hebben besproken. Heb je donderdag even tijd?\n\nGroetjes,\nMaya",
    "it": "Ciao Giulia,\n\nin allegato trovi il preventivo aggiornato con le modifiche di cui "
    "abbiamo parlato lunedì. Hai tempo giovedì per sentirci?\n\nUn saluto,\nMaya",
    "pt": "Olá João,\n\nSegue em anexo o orçamento revisto com as alterações que combinamos "
    "na segunda-feira. Você tem um tempinho na quinta?\n\nAbraço,\nMaya",
    "sv": "Hej Karin!\n\nHär kommer den reviderade offerten med ändringarna vi pratade om i "
    "måndags. Har du tid för ett kort samtal på torsdag?\n\nHälsningar,\nMaya",
}


@pytest.mark.parametrize("language", sorted(MAIL))
def test_a_message_in_each_language(language: str) -> None:
    assert language_of(MAIL[language]) == language


def test_the_languages_are_the_eight_with_texts() -> None:
    assert sorted(MAIL) == sorted(LANGUAGES)


def _own_words(name_prefix: str) -> str:
    path = next(DEMO.glob(f".Sent/cur/{name_prefix}*"))
    message = message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("plain",))
    assert part is not None
    return own_text(part.get_content())


@pytest.mark.parametrize(
    ("sent", "language"),
    [
        ("1795012226", "de"),  # "Hallo Herr Becker, vielen Dank für Ihre Anfrage ..."
        ("1795103119", "es"),  # "Hola Lucía: Muchas gracias por la videollamada ..."
        ("1794214853", "fr"),  # "Bonjour Camille, Merci pour notre échange de jeudi."
        ("1795076455", "sv"),  # "Hej Erik! En snabb fråga: ..."
        ("1794388357", "en"),  # "Hi Daniel, Thanks again for walking me through ..."
        ("1795167045", "en"),  # a reply with Ingrid's English quoted below mine
    ],
)
def test_the_demo_mailbox_sent_messages(sent: str, language: str) -> None:
    assert language_of(_own_words(sent)) == language


@pytest.mark.parametrize(
    "text",
    [
        # Norwegian and Danish are close to Swedish: never answered as Swedish.
        "Hei Ingrid, takk for tilbakemeldingen. Her er det reviderte tilbudet vi snakket om.",
        "Si gjerne fra hvis du har spørsmål om forslaget, så tar vi en prat på fredag.",
        "Hej Mette, tak for det hurtige svar. Her er det reviderede tilbud, vi talte om.",
        "Sig endelig til, hvis du har spørgsmål til forslaget, så ringer jeg på fredag.",
        # Other languages.
        "Czy możemy przełożyć rozmowę na czwartek po południu? Przesyłam poprawioną ofertę.",
        "Voisimmeko siirtää puhelun torstai-iltapäivään? Liitteenä on päivitetty tarjous.",
        "Můžeme přesunout hovor na čtvrtek odpoledne? V příloze posílám upravenou nabídku.",
    ],
)
def test_other_languages_are_not_taken_for_one_of_ours(text: str) -> None:
    assert language_of(text) == ""


@pytest.mark.parametrize(
    "text", ["", "   \n", "Danke dir", "Merci beaucoup!", "OK, super", "Hola", "4:00 in 47c2?"]
)
def test_text_too_short_to_tell(text: str) -> None:
    assert language_of(text) == ""


def test_control_characters_do_not_hide_the_language() -> None:
    # CLD2 refuses these ("invalid UTF-8"); a C1 byte from a wrong charset is common in mail.
    text = MAIL["de"].replace(" das ", " das \x96 ").replace("Zeit", "Zeit\x00\ufffe\U0001ffff")
    assert language_of(text) == "de"


@given(st.text(max_size=300))
def test_any_text_gives_a_language_or_nothing(text: str) -> None:
    assert language_of(text) in ("", *LANGUAGES)


def test_fast_enough_for_the_daemon() -> None:
    # A run looks at my own words of a few hundred tracked messages.
    texts = [MAIL[language] * 3 for language in sorted(MAIL)] * 60
    start = time.perf_counter()
    for text in texts:
        language_of(text)
    assert time.perf_counter() - start < 1.0
