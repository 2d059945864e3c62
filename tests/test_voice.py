"""greeting_of, sign_off_of, SignOffBook: how I write, mirrored by the suggested follow-ups.

Hand-made messages in each language, the demo mailbox's Sent folder (all 17 messages) and 40
Enron sent messages, labelled by reading them.
"""

from __future__ import annotations

import mailbox
import tarfile
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from corpus import CORPUS_DIR, extract
from demomailbox import DEMO
from hypothesis import given
from hypothesis import strategies as st

from watcher.analysis.language import language_of
from watcher.analysis.owntext import own_text
from watcher.analysis.voice import Greeting, SignOff, SignOffBook, greeting_of, sign_off_of

DAY = 86_400
T0 = 1_790_000_000

# --- greetings and register -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "Hi Jonas,\n\nthanks for the call.", Greeting("Hi Jonas,", False, "Jonas")),
        ("en", "Dear Ms Raman,\n\nAttached.", Greeting("Dear Ms Raman,", True, "Ms Raman")),
        ("en", "Hello all,\n\nthe files are up.", Greeting("Hello all,", None, "")),
        ("en", "Dear Sir or Madam,\n\nI am writing", Greeting("Dear Sir or Madam,", True, "")),
        ("en", "Kevin,\n\nWe can meet at 3.", Greeting("Kevin,", False, "Kevin")),
        ("en", "Thanks, Priya, that's great news.", Greeting("", None, "")),
        ("de", "Hallo Herr Becker,\n\nanbei mein Angebot. Passt Ihnen Dienstag?",
         Greeting("Hallo Herr Becker,", True, "Herr Becker")),
        ("de", "Liebe Anna,\n\nhast du am Freitag Zeit? Dein Entwurf ist super.",
         Greeting("Liebe Anna,", False, "Anna")),
        ("de", "Sehr geehrte Frau Dr. Schmidt,\n\nanbei das Angebot.",
         Greeting("Sehr geehrte Frau Dr. Schmidt,", True, "Frau Dr. Schmidt")),
        ("de", "Sehr geehrte Damen und Herren,\n\nanbei das Angebot.",
         Greeting("Sehr geehrte Damen und Herren,", True, "")),
        ("de", "Hallo Jonas,\n\nkönnen Sie mir Ihre Unterlagen schicken?",
         Greeting("Hallo Jonas,", True, "Jonas")),  # first name and Sie: Sie decides
        ("fr", "Bonjour Camille,\n\nvous trouverez ci-joint votre devis.",
         Greeting("Bonjour Camille,", True, "Camille")),
        ("fr", "Salut Claire,\n\ntu as reçu mon devis ? Dis-moi ce que tu en penses.",
         Greeting("Salut Claire,", False, "Claire")),
        ("fr", "Madame,\n\nje vous remercie de votre demande.", Greeting("Madame,", True, "")),
        ("es", "Hola Lucía:\n\nte envío el presupuesto. ¿Te parece bien?",
         Greeting("Hola Lucía:", False, "Lucía")),
        ("es", "Estimado Sr. García:\n\nle adjunto el presupuesto. No dude en escribirme.",
         Greeting("Estimado Sr. García:", True, "Sr. García")),
        ("es", "Buenos días, Marta:\n\n¿usted prefiere el jueves?",
         Greeting("Buenos días, Marta:", True, "Marta")),
        ("nl", "Beste meneer Jansen,\n\nhierbij stuur ik u de offerte.",
         Greeting("Beste meneer Jansen,", True, "meneer Jansen")),
        ("nl", "Hoi Sanne,\n\nheb je de offerte gezien? Laat je het weten?",
         Greeting("Hoi Sanne,", False, "Sanne")),
        ("it", "Gentile Sig.ra Bianchi,\n\nLe invio il preventivo. Mi faccia sapere.",
         Greeting("Gentile Sig.ra Bianchi,", True, "Sig.ra Bianchi")),
        ("it", "Ciao Giulia,\n\nti mando il preventivo, fammi sapere.",
         Greeting("Ciao Giulia,", False, "Giulia")),
        ("pt", "Prezado Sr. Silva,\n\nsegue o orçamento. O senhor prefere quinta?",
         Greeting("Prezado Sr. Silva,", True, "Sr. Silva")),
        ("pt", "Olá João,\n\nvocê viu o orçamento? Te mando os detalhes.",
         Greeting("Olá João,", False, "João")),
        ("sv", "Hej Karin!\n\nHar du hunnit titta på offerten? Din feedback är guld.",
         Greeting("Hej Karin!", False, "Karin")),
        ("sv", "Hejsan,\n\nhär kommer offerten.", Greeting("Hejsan,", None, "")),
        ("en", "The revised quote is attached.", Greeting("", None, "")),
    ],
)  # fmt: skip
def test_greeting_and_register(language: str, text: str, expected: Greeting) -> None:
    assert greeting_of(text, language) == expected


def test_a_family_name_never_becomes_a_first_name() -> None:
    for text, language in [("Hallo Herr Becker,\n\nanbei", "de"), ("Dear Mr Okafor,\n", "en")]:
        greeting = greeting_of(text, language)
        assert greeting.name in ("Herr Becker", "Mr Okafor")
        assert greeting.formal is True


def test_a_salutation_in_another_language_than_asked_is_still_read() -> None:
    # Detection may answer "" (too short) or another language; the salutation still counts.
    assert greeting_of("Hallo Herr Becker,\n\nbis bald", "").text == "Hallo Herr Becker,"


def test_a_greeting_with_my_first_sentence_on_its_line() -> None:
    assert greeting_of("Hi, I wanted to ask about the quote.", "en") == Greeting("Hi,", None, "")
    assert greeting_of("Hi Tom, quick question.", "en") == Greeting("Hi Tom,", False, "Tom")


# --- sign-offs --------------------------------------------------------------------------------

MAYA = ("Maya Lindqvist",)
ABOVE = "Here is the revised proposal.\n\n"


@pytest.mark.parametrize(
    ("ending", "expected"),
    [
        ("Best,\nMaya", SignOff("Best,", "Maya")),
        ("Viele Grüße\nMaya Lindqvist", SignOff("Viele Grüße", "Maya Lindqvist")),
        ("Viele Grüße aus Stockholm\nMaya", SignOff("Viele Grüße aus Stockholm", "Maya")),
        ("Cordialement,\nMaya", SignOff("Cordialement,", "Maya")),
        ("Un saludo,\nMaya", SignOff("Un saludo,", "Maya")),
        ("Met vriendelijke groet,\nMaya", SignOff("Met vriendelijke groet,", "Maya")),
        ("Cordiali saluti,\nMaya", SignOff("Cordiali saluti,", "Maya")),
        ("Atenciosamente,\nMaya", SignOff("Atenciosamente,", "Maya")),
        ("Vänliga hälsningar\nMaya", SignOff("Vänliga hälsningar", "Maya")),
        ("Thanks, Maya", SignOff("Thanks,", "Maya")),
        ("-- Maya", SignOff("", "Maya")),
        ("Maya", SignOff("", "Maya")),
        ("/M", SignOff("", "/M")),
        ("Tack på förhand!\n\nMaya", SignOff("Tack på förhand!", "Maya")),
        ("Best,", SignOff("Best,", "")),
        ("Let me know what you think.", None),
    ],
)
def test_sign_off_shapes(ending: str, expected: SignOff | None) -> None:
    assert sign_off_of(ABOVE + ending, MAYA) == expected


@pytest.mark.parametrize(
    "after",
    [
        "\n\n-- \nMaya Lindqvist\nLindqvist Studio | brand & web\n+46 70 174 06 42",
        "\n\nMaya Lindqvist\nLindqvist Studio | brand & web\n+46 70 174 06 42\nStockholm",
        "\n\nOn 04/11/2026 12:20, Priya Raman wrote:\n> Hi Maya,\n>\n> Best regards,\n> Priya",
        "\n\n-----Original Message-----\nFrom: Priya\nSent: Monday\n\nKind regards,\nPriya",
        "\n\nP.S. The studio is booked for the 19th, let me know if that changes.",
        "\n--------------------------\nSent from my BlackBerry Wireless Handheld",
    ],
)
def test_sign_off_stops_before_signature_quote_and_postscript(after: str) -> None:
    assert sign_off_of(ABOVE + "All the best,\nMaya" + after, MAYA) == SignOff(
        "All the best,", "Maya"
    )


def test_a_closing_that_thanks_someone_else_is_not_my_name() -> None:
    assert sign_off_of("Thank you, Evelyn.\n\nK", ("Kate Symes",)) == SignOff("", "K")


def test_a_message_that_is_only_thanks_or_a_signature_has_no_sign_off() -> None:
    assert sign_off_of("Thanks!", ("Kate Symes",)) is None
    assert (
        sign_off_of("Louise Kitchen\nChief Operating Officer\nTel: 713", ("Louise Kitchen",))
        is None
    )


def test_without_my_names_a_name_alone_is_judged_by_its_shape() -> None:
    assert sign_off_of("Sounds good.\n\nKate") == SignOff("", "Kate")
    assert sign_off_of("price changed to 420.00") is None


def _sent(name_prefix: str) -> str:
    path = next(DEMO.glob(f".Sent/cur/{name_prefix}*"))
    message = message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


# Every message in the demo's Sent folder, labelled by reading it.
DEMO_SENT = {
    "1792765204": (Greeting("Hi Olivia,", False, "Olivia"), SignOff("All the best,", "Maya")),
    "1793178340": (Greeting("Dear Hiroshi,", False, "Hiroshi"), SignOff("Kind regards,", "Maya")),
    "1793628348": (Greeting("Hi Priya,", False, "Priya"), SignOff("Best,", "Maya")),
    "1793693730": (Greeting("Hi Ingrid,", False, "Ingrid"), SignOff("Best,", "Maya")),
    "1793793731": (Greeting("", None, ""), SignOff("Best,", "Maya")),
    "1794214853": (
        Greeting("Bonjour Camille,", True, "Camille"),
        SignOff("Bien cordialement,", "Maya Lindqvist"),
    ),
    "1794388357": (Greeting("Hi Daniel,", False, "Daniel"), SignOff("Best,", "Maya")),
    "1794565817": (Greeting("Hi Ravi,", False, "Ravi"), SignOff("Best,", "Maya")),
    "1794818402": (Greeting("Hi Tom,", False, "Tom"), SignOff("Best,", "Maya")),
    "1794920421": (Greeting("Hi Ben,", False, "Ben"), SignOff("Best,", "Maya")),
    "1794996312": (Greeting("Hi Mateusz,", False, "Mateusz"), SignOff("Best,", "Maya")),
    "1795012226": (
        Greeting("Hallo Herr Becker,", True, "Herr Becker"),
        SignOff("Viele Grüße", "Maya Lindqvist"),
    ),
    "1795076455": (Greeting("Hej Erik!", False, "Erik"), SignOff("Tack på förhand!", "Maya")),
    "1795103119": (Greeting("Hola Lucía:", False, "Lucía"), SignOff("Un abrazo,", "Maya")),
    "1795167045": (Greeting("Hi Ingrid,", False, "Ingrid"), SignOff("Best,", "Maya")),
    "1795194633": (Greeting("Hej Sofia!", False, "Sofia"), SignOff("Kram,", "Maya")),
    "1795374908": (Greeting("", None, ""), SignOff("", "/M")),
}


def test_the_demo_sent_folder_is_labelled_whole() -> None:
    assert sorted(p.name.split(".")[0] for p in DEMO.glob(".Sent/cur/*")) == sorted(DEMO_SENT)


@pytest.mark.parametrize("sent", sorted(DEMO_SENT))
def test_the_demo_sent_messages(sent: str) -> None:
    body = _sent(sent)
    own = own_text(body)
    assert (greeting_of(own, language_of(own)), sign_off_of(body, MAYA)) == DEMO_SENT[sent]


# Enron: every 97th message (from the 6th) of each sent folder, the first 40 with words of
# mine; labelled by reading them. (folder file, index) -> (salutation, sign-off).
ENRON_NAMES = {
    "hayslett-r": "Rod Hayslett",
    "keiser-k": "Kam Keiser",
    "kitchen-l": "Louise Kitchen",
    "parks-j": "Joe Parks",
    "symes-k": "Kate Symes",
}
ENRON_LABELS: dict[tuple[str, int], tuple[str, SignOff | None]] = {
    ("enron.hayslett-r._sent_mail", 5): ("Hi Felicia,", SignOff("Thanks,", "Rod")),
    ("enron.hayslett-r.hold.old_sent", 5): ("", None),
    ("enron.hayslett-r.sent", 5): ("", None),
    ("enron.hayslett-r.sent_items", 5): ("", None),
    ("enron.hayslett-r.sent_items", 102): ("", None),  # a BlackBerry footer is no sign-off
    ("enron.hayslett-r.sent_items", 199): ("", None),
    ("enron.hayslett-r.sent_items", 296): ("", None),
    ("enron.hayslett-r.sent_items", 393): ("", None),
    ("enron.hayslett-r.sent_items", 490): ("", None),
    ("enron.keiser-k.sent_items", 5): ("", SignOff("Thanks", "Kam")),  # extension below
    ("enron.keiser-k.sent_items", 102): ("", SignOff("Thanks", "")),
    ("enron.keiser-k.sent_items", 199): ("", SignOff("Thanks", "KK")),
    ("enron.keiser-k.sent_items", 296): ("Darron,", SignOff("", "KK")),
    ("enron.kitchen-l.sent_items", 5): ("", None),  # ends "Its coming": not a closing
    ("enron.kitchen-l.sent_items", 102): ("", None),
    ("enron.kitchen-l.sent_items", 199): ("", SignOff("", "Louise Kitchen")),  # + title, phone
    ("enron.kitchen-l.sent_items", 393): ("", None),
    ("enron.kitchen-l.sent_items", 490): ("", None),
    ("enron.kitchen-l.sent_items", 587): ("", None),  # only her signature block
    ("enron.kitchen-l.sent_items", 684): ("", None),
    ("enron.kitchen-l.sent_items", 781): ("", None),
    ("enron.kitchen-l.sent_items", 878): ("", None),
    ("enron.kitchen-l.sent_items", 975): ("", None),
    ("enron.parks-j.sent_items", 5): ("", None),
    ("enron.parks-j.sent_items", 102): ("", None),
    ("enron.parks-j.sent_items", 199): ("", None),
    ("enron.parks-j.sent_items", 296): ("", None),
    ("enron.symes-k._sent_mail", 5): ("", None),
    ("enron.symes-k._sent_mail", 102): ("", SignOff("Thanks,", "Kate")),
    ("enron.symes-k._sent_mail", 199): ("", SignOff("", "K")),  # "Thank you, Evelyn." above
    ("enron.symes-k._sent_mail", 296): ("", SignOff("Thanks,", "Kate")),
    ("enron.symes-k._sent_mail", 393): ("", SignOff("", "Kate")),
    ("enron.symes-k._sent_mail", 490): ("", SignOff("", "Kate")),
    ("enron.symes-k._sent_mail", 587): ("", None),
    ("enron.symes-k._sent_mail", 684): ("", SignOff("", "Kate")),
    ("enron.symes-k._sent_mail", 781): ("", None),
    ("enron.symes-k._sent_mail", 878): ("", SignOff("Thanks,", "Kate")),
    ("enron.symes-k._sent_mail", 975): ("", None),  # the whole message is "Thanks!"
    ("enron.symes-k._sent_mail", 1072): ("", SignOff("", "Kate")),
    ("enron.symes-k._sent_mail", 1169): ("", SignOff("", "Kate")),
}


@pytest.fixture(scope="module")
def enron_sent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = CORPUS_DIR / "enron-sample.tar.xz"
    if not archive.is_file():
        pytest.skip(f"{archive} is not there")
    root = tmp_path_factory.mktemp("enron-sent")
    wanted = {name for name, _ in ENRON_LABELS}
    with tarfile.open(archive, "r:xz") as tar:
        members = [m for m in tar.getmembers() if Path(m.name).name in wanted]
        extract(tar, root, members)
    return root


def _enron_body(root: Path, name: str, index: int) -> str:
    box = mailbox.mbox(next(root.rglob(name)), create=False)
    try:
        payload = box[index].get_payload(decode=True)
    finally:
        box.close()
    return payload.decode("latin-1") if isinstance(payload, bytes) else ""


def test_enron_sent_messages(enron_sent: Path) -> None:
    wrong = []
    for (name, index), (salutation, expected) in ENRON_LABELS.items():
        body = _enron_body(enron_sent, name, index)
        mine = (ENRON_NAMES[name.split(".")[1]],)
        got = (greeting_of(own_text(body), "en").text, sign_off_of(body, mine))
        if got != (salutation, expected):
            wrong.append(f"{name} {index}: {got} != {(salutation, expected)}")
    assert not wrong, "\n".join(wrong)


@given(st.text(max_size=400), st.sampled_from(["", "en", "de", "fr", "es", "sv", "xx"]))
def test_any_text_reads_without_error(text: str, language: str) -> None:
    greeting = greeting_of(text, language)
    assert greeting.text == greeting.text.strip()
    sign_off = sign_off_of(text, MAYA)
    assert sign_off is None or sign_off.closing or sign_off.name


def test_long_lines_take_no_time() -> None:
    start = time.perf_counter()
    for text in ("Hi " + "Tom " * 5000, "Best, " * 5000 + "\nMaya", ("x " * 50 + "\n") * 2000):
        greeting_of(text, "en")
        sign_off_of(text, MAYA)
    assert time.perf_counter() - start < 1.0


# --- what I sign with -------------------------------------------------------------------------

BEST = SignOff("Best,", "Maya")
GRUESSE = SignOff("Viele Grüße", "Maya Lindqvist")
LG = SignOff("LG", "Maya")


def test_nothing_known_gives_none() -> None:
    assert SignOffBook().best("jonas@kranich.example", "de") is None


def test_with_the_contact_in_the_language() -> None:
    book = SignOffBook()
    book.add("j.becker@kranich.example", "de", GRUESSE, T0)
    book.add("j.becker@kranich.example", "de", GRUESSE, T0 + DAY)
    book.add("anna@other.example", "de", LG, T0 + 2 * DAY)
    book.add("anna@other.example", "de", LG, T0 + 3 * DAY)
    book.add("anna@other.example", "de", LG, T0 + 4 * DAY)
    assert book.best("J.Becker@Kranich.example", "de") == GRUESSE
    assert book.best("new@client.example", "de") == LG  # my recent German mail at large


def test_with_the_contact_in_another_language_the_closing_follows_the_language() -> None:
    book = SignOffBook()
    book.add("priya@acme.example", "en", SignOff("Best,", "M."), T0)
    book.add("jonas@kranich.example", "de", GRUESSE, T0 + DAY)
    # No "Best," under a German text; the name as I sign to Priya.
    assert book.best("priya@acme.example", "de") == SignOff("Viele Grüße", "M.")
    # No Spanish mail at all: what I use with her.
    assert book.best("priya@acme.example", "es") == SignOff("Best,", "M.")


def test_recent_mail_weighs_more() -> None:
    book = SignOffBook()
    for day in range(3):  # a year ago, three times
        book.add("priya@acme.example", "en", SignOff("Kind regards,", "Maya"), T0 + day * DAY)
    book.add("priya@acme.example", "en", BEST, T0 + 365 * DAY)  # today, once
    assert book.best("priya@acme.example", "en") == BEST
    book.add("priya@acme.example", "en", SignOff("Kind regards,", "Maya"), T0 + 360 * DAY)
    book.add("priya@acme.example", "en", SignOff("Kind regards,", "Maya"), T0 + 361 * DAY)
    assert book.best("priya@acme.example", "en") == SignOff("Kind regards,", "Maya")


def test_a_tie_goes_to_the_latest() -> None:
    book = SignOffBook()
    book.add("priya@acme.example", "en", SignOff("Kind regards,", "Maya"), T0)
    book.add("priya@acme.example", "en", BEST, T0)
    assert book.best("priya@acme.example", "en") in (BEST, SignOff("Kind regards,", "Maya"))
    book.add("priya@acme.example", "en", BEST, T0 + DAY)
    assert book.best("priya@acme.example", "en") == BEST
