"""Classification of sent mail, automatic messages and bounces; no server needed."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.analysis import keywords, proposals
from watcher.analysis.owntext import own_text
from watcher.analysis.proposals import classify_sent
from watcher.analysis.signals import Bounce, automatic_reason, bounce_of
from watcher.identity import Identity
from watcher.mail.parse import facts_from_raw
from watcher.model import TRACK_THRESHOLD, Address, Attachment, MessageFacts

_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "odt": "application/vnd.oasis.opendocument.text",
    "jpg": "image/jpeg",
}


def sent(
    subject: str = "Next steps", body: str = "Hi,\n\nsee you soon.\n", files: Sequence[str] = ()
) -> MessageFacts:
    """A message I sent, as the store holds it."""
    attachments = tuple(
        Attachment(name, _TYPES.get(name.rsplit(".", 1)[-1], "application/octet-stream"), 9000)
        for name in files
    )
    return MessageFacts(
        key="1:1", subject=subject, body_text=body, attachments=attachments, is_from_me=True
    )


def received(
    subject: str = "Re: Proposal: new website",
    fields: Mapping[str, Any] | None = None,
    *,
    sender: Address = ("Daniel", "daniel@client.example"),
    body: str = "",
) -> MessageFacts:
    """A message from someone else; `fields` sets header facts (auto_submitted="...", ...)."""
    facts = MessageFacts(key="1:2", subject=subject, from_=(sender,), body_text=body)
    return replace(facts, **(fields or {}))


# --- keywords in the subject ----------------------------------------------------------------

SUBJECTS = [
    ("Proposal: new website for Acme", "proposal"),
    ("Website proposal for Acme Outdoor", "proposal"),
    ("Quote 1042: product photography day", "quote"),
    ("Quotation for the spring catalogue", "quote"),
    ("Estimate: website refresh", "estimate"),
    ("Contract for the redesign", "contract"),
    ("Statement of Work: phase 2", "contract"),
    ("SOW for the migration", "contract"),
    ("Services agreement: Harbourline brand refresh", "agreement"),
    ("Angebot 2026-114: Verpackungsdesign", "quote"),
    ("Ihr Angebot für die Winteredition", "quote"),  # "your quote" is how a quote is sent
    ("Projektangebot Webshop", "quote"),
    ("Kostenvoranschlag Badsanierung", "estimate"),
    ("Vertrag für das Projekt", "contract"),
    ("Rahmenvertrag 2027", "contract"),
    ("Vereinbarung über die Zusammenarbeit", "agreement"),
    ("Devis DL-2026-031 : refonte du site", "quote"),
    ("Votre devis pour la refonte", "quote"),
    ("Proposition commerciale : refonte", "proposal"),
    ("Offre commerciale 2026", "offer"),
    ("Contrat de prestation", "contract"),
    ("Presupuesto 2026-118: identidad visual", "quote"),
    ("Cotización diseño web", "quote"),
    ("Propuesta comercial para Estudio Añil", "proposal"),
    ("Contrato de servicios", "contract"),
    ("Offerte 2026-12 website", "quote"),
    ("Prijsofferte nieuwe huisstijl", "quote"),
    ("Samenwerkingsovereenkomst 2027", "agreement"),
    ("Contract webdesign", "contract"),
    ("Preventivo sito web", "quote"),
    ("Proposta commerciale per il sito", "proposal"),
    ("Contratto di servizio", "contract"),
    ("Orçamento 2026-07: novo site", "quote"),
    ("Cotação de serviços", "quote"),
    ("Proposta comercial: loja online", "proposal"),
    ("Offert: ny webbplats", "quote"),
    ("Offerten för hemsidan", "quote"),
    ("Kostnadsförslag badrum", "estimate"),
    ("Samarbetsavtal 2027", "agreement"),
    ("Kontrakt för webbprojektet", "contract"),
    ("PROPOSAL – NEW WEBSITE", "proposal"),  # case-insensitive
    ("Orcamento sem acento", "quote"),  # accent-insensitive both ways
]


@pytest.mark.parametrize(("subject", "kind"), SUBJECTS)
def test_keyword_in_subject_is_enough(subject: str, kind: str) -> None:
    result = classify_sent(sent(subject))
    assert result.is_tracked, result
    assert result.kind == kind
    assert any(r.startswith("keyword ") and r.endswith(" in subject") for r in result.reasons)


def test_reason_quotes_the_word_as_written() -> None:
    result = classify_sent(sent("Angebot 2026-114: Verpackungsdesign"))
    assert result.reasons == ("keyword 'Angebot' in subject",)
    assert result.score == 3.0 == TRACK_THRESHOLD


@pytest.mark.parametrize(
    "subject",
    [
        "Special offer for you",  # offer, weak
        "Förslag: lunch på fredag?",  # förslag is also "suggestion"
        "Vorschläge für das Treffen",
        "Proposition de date pour jeudi",
        "Propuesta para el sábado",
        "Voorstel: vrijdag lunchen?",
        "Proposta per la cena",
    ],
)
def test_ambiguous_words_alone_are_not_enough(subject: str) -> None:
    result = classify_sent(sent(subject))
    assert not result.is_tracked
    assert result.kind == ""
    assert result.score == 1.5


def test_ambiguous_word_with_a_document_is_tracked() -> None:
    result = classify_sent(sent("Propuesta diseño web", files=["estudio-anil.pdf"]))
    assert result.is_tracked
    assert result.kind == "proposal"
    assert result.reasons == (
        "keyword 'Propuesta' in subject",
        "document attachment estudio-anil.pdf",
    )


# --- keywords in my own text -----------------------------------------------------------------

TEXTS = [
    ("Here is my proposal for the new site.\nFixed fee: EUR 5,000.", "proposal", "proposal"),
    ("Anbei mein Angebot für die Etiketten.\nGesamtpreis: 6.900 EUR netto.", "quote", "Angebot"),
    ("Vous trouverez ci-joint le devis.\nMontant : 7 400 € HT.", "quote", "devis"),
    ("Te envío el presupuesto.\nImporte total: 5.800 € + IVA.", "quote", "presupuesto"),
    ("Hierbij de offerte voor de website: € 4.500 excl. btw.", "quote", "offerte"),
    ("In allegato il preventivo: 3.200 € + IVA.", "quote", "preventivo"),
    ("Segue o orçamento para o site: 2.500 EUR.", "quote", "orçamento"),
    ("Här kommer offerten för hemsidan: 45 000 kr exkl. moms.", "quote", "offerten"),
    ("Attached is the contract for phase two, USD 18,000 in total.", "contract", "contract"),
    ("Bijgaand de overeenkomst, totaal € 9.000.", "agreement", "overeenkomst"),
    ("Anbei der Vertrag zur Durchsicht, 12.000 EUR.", "contract", "Vertrag"),
    ("Voici le contrat pour la refonte, 7 400 € HT.", "contract", "contrat"),
    ("Adjunto el contrato, 5.800 € + IVA.", "contract", "contrato"),
    ("In allegato il contratto, 3.200 €.", "contract", "contratto"),
    ("Segue o contrato, 2.500 EUR.", "contract", "contrato"),
    ("Hierbij het contract, € 4.500.", "contract", "contract"),
    ("Här är avtalet för våren, 45 000 kr.", "agreement", "avtalet"),
    ("Ci-joint notre proposition commerciale, 7 400 € HT.", "proposal", "proposition commerciale"),
    ("Te envío la propuesta comercial, 5.800 €.", "proposal", "propuesta comercial"),
    ("Ecco la proposta commerciale, 3.200 €.", "proposal", "proposta commerciale"),
    ("Segue a proposta comercial, 2.500 EUR.", "proposal", "proposta comercial"),
    ("Hier ist mein Kostenvoranschlag: 1.800 EUR.", "estimate", "Kostenvoranschlag"),
    ("Här kommer kostnadsförslaget: 30 000 kr.", "estimate", "kostnadsförslaget"),
]


@pytest.mark.parametrize(("body", "kind", "word"), TEXTS)
def test_keyword_in_text_with_a_price(body: str, kind: str, word: str) -> None:
    result = classify_sent(sent("Website", body))
    assert result.is_tracked, result
    assert result.kind == kind
    assert f"keyword {word!r} in text" in result.reasons
    assert any(r.startswith("price ") for r in result.reasons)


def test_keyword_in_text_alone_is_not_enough() -> None:
    result = classify_sent(sent("Website", "I will send the proposal tomorrow."))
    assert not result.is_tracked
    assert result.score == 2.0


def test_subject_and_attachment_name_the_kind_before_the_text() -> None:
    result = classify_sent(
        sent("Contract: phase two", "The quote we agreed is in the contract.", ["SOW.docx"])
    )
    assert result.kind == "contract"  # the attachment (SOW) wins, then the subject
    result = classify_sent(sent("Estimate for the kitchen", "Here is the quote."))
    assert result.kind == "estimate"


# --- quoted text is not mine -----------------------------------------------------------------

OWN = "Thanks, see you Thursday.\n"
QUOTED = "Could you also send the proposal and the quote?\nBudget: EUR 12,400.\nvia DocuSign\n"
HEADERS = [
    "On Tue, 3 Nov 2026 at 09:15, Ingrid Halvorsen <ingrid@fjellstue.example> wrote:",
    "On Tue, 3 Nov 2026 at 09:15, Ingrid Halvorsen <ingrid@fjellstue.example>\nwrote:",
    "Ingrid Halvorsen wrote:",
    "-----Original Message-----",
    "Am 12.11.2026 um 14:22 schrieb Jonas Becker:",
    "Le 9 nov. 2026 à 10:00, Camille Morel <camille@atelier.example> a écrit :",
    "El mar, 10 nov 2026 a las 10:00, Lucía Fernández (<lucia@anil.example>) escribió:",
    "Op di 10 nov. 2026 om 10:00 schreef Jan de Vries <jan@bakkerij.example>:",
    "Il giorno mar 10 nov 2026 alle ore 10:00 Marco Rossi <marco@studio.example> ha scritto:",
    "Em ter., 10 de nov. de 2026 às 10:00, Ana Lima <ana@loja.example> escreveu:",
    "Den 2026-11-21 kl. 10:02, skrev Sofia Berg:",
    "From: Priya Raman <priya@acme.example>\nSent: Wednesday, 4 November 2026 12:20\n"
    "To: Maya Lindqvist\nSubject: RE: Quote 1042",
    "________________________________\nFrom: Priya Raman <priya@acme.example>\nSent: Wednesday",
    "Von: Jonas Becker <j.becker@kranich.example>\nGesendet: Donnerstag, 12. November 2026\n"
    "An: Maya\nBetreff: Angebot",
    "De : Camille Morel <camille@atelier.example>\nEnvoyé : mardi 10 novembre 2026\nObjet : Devis",
    "---------- Forwarded message ---------\nFrom: Ingrid <ingrid@fjellstue.example>",
]


@pytest.mark.parametrize("header", HEADERS)
def test_text_below_a_reply_header_is_ignored(header: str) -> None:
    body = f"{OWN}\n{header}\n{QUOTED}"
    assert own_text(body).strip() == OWN.strip()
    result = classify_sent(sent("Re: Lunch on Friday?", body))
    assert result.score == 0.0
    assert result.reasons == ()
    assert result.kind == ""


def test_quoted_lines_are_ignored() -> None:
    body = OWN + "".join(f"> {line}\n" for line in QUOTED.splitlines())
    assert classify_sent(sent("Re: Lunch on Friday?", body)).score == 0.0


def test_bottom_posting_keeps_what_i_wrote_below_the_quote() -> None:
    body = (
        "On Tue, 3 Nov 2026 at 09:15, Ingrid <ingrid@fjellstue.example> wrote:\n"
        "> Can you send me something for the booking site?\n\n"
        "Here is the quote: NOK 189,000 excl. VAT.\n"
    )
    result = classify_sent(sent("Re: Booking site", body))
    assert result.is_tracked
    assert result.reasons == (
        "keyword 'quote' in text",
        "sends the quote ('Here is')",
        "price NOK 189,000",
    )


def test_signature_is_ignored() -> None:
    body = "See you!\n-- \nMaya | Proposals & Contracts | from EUR 900/day\n"
    assert classify_sent(sent("Lunch", body)).score == 0.0


def test_a_reply_subject_counts_little_and_a_thank_you_is_not_a_quote() -> None:
    # Thread 02 of the demo: the thank-you after the client accepted the quote.
    body = "Thank you, Priya. I've noted PO ACM-PO-7781 for the invoice.\n"
    result = classify_sent(sent("Re: Quote 1042: product photography day", body))
    assert not result.is_tracked
    assert result.reasons == ("keyword 'Quote' in reply subject",)
    # ...but a revised quote sent as a reply, with its document, is one.
    body = "Here is the revised quote, with two dates."
    result = classify_sent(sent("Re: Quote 1042", body, ["dates.pdf"]))
    assert result.is_tracked
    assert result.kind == "quote"


# --- attachments -----------------------------------------------------------------------------

ATTACHMENTS = [
    ("Proposal_Acme_v2.pdf", "proposal"),
    ("Quote-1042.pdf", "quote"),
    ("SOW.docx", "contract"),
    ("Angebot_2026-114.pdf", "quote"),
    ("Vertrag.pdf", "contract"),
    ("devis.pdf", "quote"),
    ("Offerte 2026-12.pdf", "quote"),
    ("presupuesto.pdf", "quote"),
    ("AcmeProposal.pdf", "proposal"),
    ("Estimate_Tidewater_Yoga.pdf", "estimate"),
    ("Kostenvoranschlag_Bad.pdf", "estimate"),
    ("Rahmenvertrag.odt", "contract"),
    ("orçamento_final.pdf", "quote"),
    ("Samarbetsavtal.docx", "agreement"),
    ("Overeenkomst.odt", "agreement"),
    ("preventivo-123.pdf", "quote"),
    ("Contrato.pdf", "contract"),
    ("Förslag.pdf", "proposal"),  # ambiguous words are clear enough in a file name
    ("quotation.v3.final.docx", "quote"),
]


@pytest.mark.parametrize(("name", "kind"), ATTACHMENTS)
def test_attachment_names(name: str, kind: str) -> None:
    result = classify_sent(sent(files=[name]))
    assert result.is_tracked
    assert result.kind == kind
    assert result.reasons == (f"attachment {name}",)


@pytest.mark.parametrize("name", ["photo.pdf", "misquote.pdf", "quoted_text.pdf", "notes.docx"])
def test_a_document_alone_is_weak(name: str) -> None:
    result = classify_sent(sent("Meeting notes", files=[name]))
    assert not result.is_tracked
    assert result.reasons == (f"document attachment {name}",)


def test_an_image_is_no_document() -> None:
    assert classify_sent(sent("Holiday", files=["beach.jpg"])).score == 0.0


def test_price_and_document_together_make_a_generic_proposal() -> None:
    result = classify_sent(sent("Kumo Tea web shop", "Fixed fee: EUR 11,500.", ["kumo.pdf"]))
    assert result.is_tracked
    assert result.kind == "proposal"
    assert result.reasons == ("price EUR 11,500", "document attachment kumo.pdf")


# --- e-signatures ----------------------------------------------------------------------------

ESIGN = [
    ("https://app.docusign.com/documents/details/3f6a2c1e", "DocuSign"),
    ("https://na3.docusign.net/Signing/EmailStart.aspx?a=1", "DocuSign"),
    ("Please sign it via DocuSign", "DocuSign"),
    ("https://app.pandadoc.com/document/v2?token=abc", "PandaDoc"),
    ("https://app.hellosign.com/s/abc123", "Dropbox Sign"),
    ("Sent with Dropbox Sign", "Dropbox Sign"),
    ("https://secure.echosign.com/public/esignWidget?wid=abc", "Adobe Sign"),
    ("https://acme.eu1.adobesign.com/public/apiesign?pid=abc", "Adobe Sign"),
    ("You can sign it with Adobe Acrobat Sign.", "Adobe Sign"),
]


@pytest.mark.parametrize(("text", "service"), ESIGN)
def test_e_signature_services(text: str, service: str) -> None:
    result = classify_sent(sent("Next steps", f"Hi Tom,\n\n{text}\n"))
    assert result.is_tracked
    assert result.kind == "contract"
    assert f"{service} link" in result.reasons


SIGN_REQUESTS = [
    "Please review and sign the attached.",
    "Bitte unterschreiben Sie das Dokument.",
    "Merci de signer et de me le renvoyer.",
    "¿Puedes firmarlo esta semana?",
    "Graag ondertekenen en terugsturen.",
    "Puoi firmare entro venerdì?",
    "Pode assinar até sexta?",
    "Kan du skriva under och skicka tillbaka?",
]


@pytest.mark.parametrize("text", SIGN_REQUESTS)
def test_a_request_to_sign_needs_a_second_signal(text: str) -> None:
    assert not classify_sent(sent("Next steps", text)).is_tracked
    result = classify_sent(sent("Next steps", text, ["terms.pdf"]))
    assert result.is_tracked
    assert result.kind == "contract"
    assert any(r.startswith("asks to sign (") for r in result.reasons)


# --- prices ----------------------------------------------------------------------------------

PRICES = [
    ("Total: € 12.400 excl. VAT", "€ 12.400"),
    ("Total: EUR 12,400 excl. VAT", "EUR 12,400"),
    ("Total: 12 400 € HT", "12 400 €"),
    ("Total: 12\u00a0400\u00a0€ HT", "12 400 €"),
    ("Total: $4,500 per month", "$4,500"),
    ("Total: USD 4500", "USD 4500"),
    ("Total: CHF 3'500.-", "CHF 3'500"),
    ("Total: £2,000 + VAT", "£2,000"),
    ("Totalt: 45 000 kr exkl. moms", "45 000 kr"),
    ("Totalt: SEK 45 000", "SEK 45 000"),
    ("Totalt 9 000:- per månad", "9 000:-"),
    ("Gesamt: 1.234,56 € netto", "1.234,56 €"),
    ("Fixed fee: AUD 12,900 excl. GST", "AUD 12,900"),
]


@pytest.mark.parametrize(("text", "shown"), PRICES)
def test_prices(text: str, shown: str) -> None:
    # A price counts in a message that sends a document (pattern 2: alone it is nothing).
    result = classify_sent(sent("Website", text, ["terms.pdf"]))
    assert result.reasons == (f"price {shown}", "document attachment terms.pdf")
    assert result.score == 3.0
    assert classify_sent(sent("Website", text)).reasons == ()


@pytest.mark.parametrize(
    "text",
    [
        "Call me on +46 70 174 06 42.",
        "See you at 12:30 :-)",
        "Room 1042, second floor, in 2026.",
        "Version 2.5 is out.",
    ],
)
def test_numbers_that_are_not_prices(text: str) -> None:
    result = classify_sent(sent("Lunch", text, ["terms.pdf"]))
    assert result.reasons == ("document attachment terms.pdf",)


# --- the user's own words --------------------------------------------------------------------


def test_extra_keywords() -> None:
    extra = ("Kostenaufstellung", "retainer", "scope of services")
    assert not classify_sent(sent("Kostenaufstellung Q1")).is_tracked
    result = classify_sent(sent("KOSTENAUFSTELLUNG Q1"), extra_keywords=extra)
    assert result.is_tracked
    assert result.kind == "proposal"
    assert result.reasons == ("keyword 'KOSTENAUFSTELLUNG' in subject",)
    result = classify_sent(sent(files=["Retainer_2027.pdf"]), extra_keywords=extra)
    assert result.reasons == ("attachment Retainer_2027.pdf",)
    result = classify_sent(
        sent("Next year", "Here is the scope of\nservices and two retainers: EUR 2,000/month."),
        extra_keywords=extra,
    )
    assert result.is_tracked
    assert "keyword 'scope of services' in text" in result.reasons
    assert not classify_sent(sent("Retaining wall"), extra_keywords=extra).is_tracked


# --- what must not be tracked ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "body", "files"),
    [
        ("Re: lunch on Friday?", "Sure, 12:30 works for me.", []),
        ("Invoice 2026-114", "Amount due: EUR 1,200 by 30 November.", ["Invoice_2026-114.pdf"]),
        ("Rechnung 2026-114", "Betrag: 1.200 EUR", ["Rechnung_2026-114.pdf"]),
        ("Facture F-2026-114", "Montant : 1 200 € TTC", ["Facture.pdf"]),
        ("Faktura 114", "Att betala: 12 000 kr", ["Faktura_114.pdf"]),
        ("Proposal and invoice", "", ["Invoice.pdf"]),  # an invoice outweighs the word
        ("October", "Please find attached the invoice: EUR 1,200.", ["october.pdf"]),
        ("Meeting notes", "Notes from today attached.", ["photo.pdf"]),
        ("Next week", "We can offer a call on Tuesday, or Wednesday.", []),
        ("Terminvorschlag", "Terminvereinbarung für Dienstag?", []),
        ("Jeudi", "D'accord, à jeudi !", []),
        ("El jueves", "¡De acuerdo! Nos vemos.", []),
        ("Re: the article", "As I quoted earlier, sorry for the misquote.", []),
        # I asked for someone else's quote: a question, not my proposal (track = "all")
        ("Can you send me your quote?", "We need the numbers by Friday.", []),
        ("Printing", "Could you send us a quotation for 200 boxes?", []),
        ("Request for proposal: web shop", "Budget around EUR 10,000.", []),
        ("Druck", "Bitte um ein Angebot für 200 Etiketten.", []),
        ("Impression", "Demande de devis pour 200 boîtes.", []),
    ],
)
def test_not_tracked(subject: str, body: str, files: list[str]) -> None:
    result = classify_sent(sent(subject, body, files))
    assert not result.is_tracked, result
    assert result.kind == ""


def test_an_invoice_says_why() -> None:
    result = classify_sent(sent("Invoice 2026-114", files=["Invoice_2026-114.pdf"]))
    assert result.score < 0
    assert result.reasons == (
        "not a proposal: attachment Invoice_2026-114.pdf is an invoice",
        "not a proposal: invoice 'Invoice' in subject",
    )


def test_invoicing_terms_in_a_proposal_do_not_count_against_it() -> None:
    body = "Here is my proposal. We invoice 30 % upfront; EUR 9,000 in total."
    assert classify_sent(sent("Web shop", body)).is_tracked


def test_keyword_tables_are_well_formed() -> None:
    kinds = {"proposal", "quote", "estimate", "offer", "contract", "agreement"}
    for language, kind, factor, pattern in keywords._KEYWORDS:
        assert kind in kinds, (language, pattern)
        assert factor in (keywords.STRONG, keywords.WEAK)
        assert re.compile(pattern).groups == 0, pattern  # groups map matches to kinds
    assert {row[0] for row in keywords._KEYWORDS} >= {"en", "de", "fr", "es", "nl", "it", "pt"}


@given(st.text())
def test_folding_keeps_positions(text: str) -> None:
    # Reasons quote the original words at the positions found in the folded text.
    assert len(keywords.fold(text)) == len(text)


@given(st.text(max_size=200), st.text(max_size=2000), st.lists(st.text(max_size=40), max_size=3))
def test_any_input_gives_a_verdict(subject: str, body: str, names: list[str]) -> None:
    facts = sent(subject, body, names)
    result = classify_sent(facts, extra_keywords=("retainer",))
    assert result.is_tracked == (result.kind != "")
    assert automatic_reason(facts) in (None, *AUTOMATIC_REASONS)
    bounce_of(replace(facts, from_=(("", "mailer-daemon@x.example"),)))


@pytest.mark.parametrize(
    "body",
    ["123 " * 5000, ("On " + "x" * 290 + "\n") * 60, "propos " * 3000, "From: x\n" * 2500],
)
def test_pathological_text_stays_fast(body: str) -> None:
    # No regex may backtrack quadratically: a long run of digit groups once took seconds.
    started = time.perf_counter()
    classify_sent(sent(body[:300], body))
    bounce_of(received("failure notice", sender=("", "mailer-daemon@x.example"), body=body))
    assert time.perf_counter() - started < 1.0


AUTOMATIC_REASONS = (
    "out-of-office reply",
    "auto-reply",
    "auto-submitted",
    "mailing list",
    "bulk mail",
    "read receipt",
    "delivery report",
    "automatic report",
)


# --- automatic messages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"auto_submitted": "auto-replied"}, "auto-reply"),
        ({"auto_submitted": "auto-generated"}, "auto-submitted"),
        ({"auto_submitted": "auto-notified"}, "auto-submitted"),
        ({"x_autoreply": "yes"}, "auto-reply"),
        ({"x_autorespond": "vacation"}, "auto-reply"),
        ({"precedence": "bulk"}, "bulk mail"),
        ({"precedence": "junk"}, "bulk mail"),
        ({"precedence": "list"}, "mailing list"),
        ({"precedence": "auto_reply"}, "auto-reply"),
        ({"list_id": "Brand Notes <weekly.brandnotes.example>"}, "mailing list"),
        (
            {"content_type": "multipart/report", "report_type": "disposition-notification"},
            "read receipt",
        ),
        ({"content_type": "multipart/report", "report_type": "delivery-status"}, "delivery report"),
    ],
)
def test_automatic_markers(fields: dict[str, str], reason: str) -> None:
    assert automatic_reason(received("Re: Proposal", fields)) == reason


def test_a_plain_bounce_is_automatic() -> None:
    facts = received("Mail delivery failed", sender=("", "mailer-daemon@mx.example"))
    assert automatic_reason(facts) == "delivery report"


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: Services agreement",
        "Out of the office until 30 November",
        "Automatic reply: Proposal: new website",
        "Auto-Reply: Proposal",
        "[Autoreply] Proposal",
        "AutoReply: Re: Quote 1042",
        "Abwesenheitsnotiz: Angebot 2026-114",
        "Automatische Antwort: Angebot",
        "Abwesend: Angebot",
        "Réponse automatique : Devis DL-2026-031",
        "Absence : Devis",
        "Absent du bureau : Devis",
        "Respuesta automática: Presupuesto 2026-118",
        "Fuera de la oficina: Presupuesto",
        "Automatisch antwoord: Offerte",
        "Afwezig: Offerte",
        "Risposta automatica: Preventivo",
        "Fuori sede: Preventivo",
        "Resposta automática: Orçamento",
        "Ausente: Orçamento",
        "Frånvaro: Offert",
        "Autosvar: Offert",
        "Automatiskt svar: Offert",
    ],
)
def test_out_of_office_subjects(subject: str) -> None:
    assert automatic_reason(received(subject)) == "out-of-office reply"


@pytest.mark.parametrize(
    ("subject", "fields"),
    [
        ("Re: Proposal: new website", {}),
        ("RE: Quote 1042: product photography day", {"auto_submitted": "no"}),
        ("Re: Absence of the team next week", {}),
        ("Re: Devis DL-2026-031", {"precedence": "first-class"}),
    ],
)
def test_human_replies_are_not_automatic(subject: str, fields: dict[str, str]) -> None:
    assert automatic_reason(received(subject, fields)) is None


# --- bounces ---------------------------------------------------------------------------------

ORIGINAL = "<c3303dae@lindqvist-studio.example>"


def test_delivery_status_report() -> None:
    facts = received(
        "Undelivered Mail Returned to Sender",
        {
            "content_type": "multipart/report",
            "report_type": "delivery-status",
            "reported_message_id": ORIGINAL,
        },
        sender=("Mail Delivery System", "mailer-daemon@smtp.studio.example"),
        body=(
            "<mateusz.nowack@wisla.example>: host mx1.wisla.example[192.0.2.25] said:\n"
            "    550 5.1.1 <mateusz.nowack@wisla.example>: Recipient address rejected\n\n"
            "Final-Recipient: rfc822; Other.One@wisla.example\nAction: failed\nStatus: 5.1.1\n"
        ),
    )
    assert bounce_of(facts) == Bounce(
        ORIGINAL,
        ("mateusz.nowack@wisla.example", "other.one@wisla.example"),
        reason="the address does not exist"
        " (550 5.1.1 <mateusz.nowack@wisla.example>: Recipient address rejected)",
    )


def test_plain_mailer_daemon_bounce_names_the_original_in_its_text() -> None:
    facts = received(
        "Mail delivery failed: returning message to sender",
        sender=("Mail Delivery System", "mailer-daemon@mx.studio.example"),
        body=(
            "This message was created automatically by mail delivery software.\n\n"
            "A message that you sent could not be delivered to one or more of its\n"
            "recipients. This is a permanent error. The following address(es) failed:\n\n"
            "  mateusz.nowack@wisla.example\n"
            "    host mx1.wisla.example [192.0.2.25]\n"
            "    SMTP error from remote mail server after RCPT TO:<mateusz.nowack@wisla.example>:\n"
            "    550 5.1.1 User unknown\n\n"
            "------ This is a copy of the message, including all the headers. ------\n\n"
            f"Message-ID: {ORIGINAL}\n"
            "From: Maya Lindqvist <maya@lindqvist-studio.example>\n"
            "To: mateusz.nowack@wisla.example\n"
            "Subject: Proposal: online shop\n"
        ),
    )
    assert bounce_of(facts) == Bounce(
        ORIGINAL,
        ("mateusz.nowack@wisla.example",),
        reason="the address does not exist (550 5.1.1 User unknown)",
    )


@pytest.mark.parametrize(
    ("subject", "sender", "body", "recipient"),
    [
        (
            "Delivery Status Notification (Failure)",
            "mailer-daemon@googlemail.example",
            "Your message wasn't delivered to ben@greenleaf.example because the address "
            "couldn't be found.",
            "ben@greenleaf.example",
        ),
        (
            "Undeliverable: Project delayed",  # the original subject says "delayed"
            "postmaster@outlook.example",
            "Your message to tom@harbourline.example couldn't be delivered.",
            "tom@harbourline.example",
        ),
        ("Unzustellbar: Angebot", "postmaster@kranich.example", "", ""),
        ("Non remis : Devis", "postmaster@atelier.example", "", ""),
        ("Onbestelbaar: Offerte", "postmaster@bakkerij.example", "", ""),
        ("failure notice", "MAILER-DAEMON@mx.example", "", ""),
        ("Returned mail: see transcript for details", "mail-daemon@mx.example", "", ""),
    ],
)
def test_bounce_subjects(subject: str, sender: str, body: str, recipient: str) -> None:
    bounce = bounce_of(received(subject, sender=("", sender.lower()), body=body))
    assert bounce is not None
    assert bounce.original_message_id == ""
    assert bounce.recipients == ((recipient,) if recipient else ())


@pytest.mark.parametrize(
    ("subject", "fields", "body"),
    [
        ("Delivery Status Notification (Delay)", {}, "Delivery incomplete: will retry"),
        (
            "Delayed Mail (still being retried)",
            {"content_type": "multipart/report", "report_type": "delivery-status"},
            "Final-Recipient: rfc822; x@y.example\nAction: delayed\n",
        ),
        (
            "Successful Mail Delivery Report",
            {"content_type": "multipart/report", "report_type": "delivery-status"},
            "Final-Recipient: rfc822; x@y.example\nAction: delivered\n",
        ),
        (
            "Read: Website proposal",
            {"content_type": "multipart/report", "report_type": "disposition-notification"},
            "",
        ),
        ("Successful Mail Delivery Report", {}, ""),
        ("Your mailbox is almost full", {}, ""),  # from postmaster, but not a bounce
    ],
)
def test_not_bounces(subject: str, fields: dict[str, str], body: str) -> None:
    facts = received(subject, fields, sender=("", "postmaster@mx.example"), body=body)
    assert bounce_of(facts) is None


def test_ordinary_messages_are_not_bounces() -> None:
    assert bounce_of(received("Re: Proposal: new website")) is None
    assert bounce_of(received("Undeliverable: a joke", sender=("", "ben@x.example"))) is None


# --- the demo mailbox ------------------------------------------------------------------------

DEMO = Path(proposals.__file__).resolve().parent.parent / "demo_mailbox"
MAYA = Identity(["maya@lindqvist-studio.example", "maya.lindqvist@gmail.example"])
PROPOSAL_VERDICTS = {"awaiting", "answered", "bounced", "reply-in-spam", "auto-reply-only"}
KINDS = {
    "01": "proposal",
    "02": "quote",
    "03": "agreement",  # "Services agreement", signed via DocuSign
    "04": "proposal",
    "05": "quote",  # Angebot
    "06": "quote",  # devis
    "07": "proposal",
    "08": "estimate",
    "09": "proposal",
    "10": "proposal",
    "12": "quote",  # presupuesto
    "14": "proposal",
}
# Thread 02 ends with my thank-you after the client accepted: not a quote of its own (the
# manifest: "it does not make the thread await again").
THANK_YOU = ".Sent/cur/1793793731.M9P1.demo:2,S"
OUT_OF_OFFICE = "cur/1794818435.M19P1.demo:2,S"
READ_RECEIPT = "cur/1794470603.M13P1.demo:2,S"
BOUNCE = "cur/1794996348.M24P1.demo:2,"
BOUNCED_PROPOSAL = ".Sent/cur/1794996312.M23P1.demo:2,S"


@pytest.fixture(scope="module")
def demo() -> tuple[dict[str, MessageFacts], list[tuple[str, str, list[str]]]]:
    """The demo's messages by path, and its manifest as (thread, verdict, files)."""
    threads = []
    for line in (DEMO / "MANIFEST.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            fields = [field.strip() for field in line.split(" | ")]
            threads.append((fields[0], fields[1], fields[4].split(" ")))
    messages = {}
    for _, _, files in threads:
        for name in files:
            messages[name] = facts_from_raw(
                (DEMO / name).read_bytes(),
                key=name,
                identity=MAYA,
                in_sent_folder=name.startswith(".Sent/"),
            )
    return messages, threads


def test_demo_proposals_are_tracked_with_reasons(
    demo: tuple[dict[str, MessageFacts], list[tuple[str, str, list[str]]]],
) -> None:
    messages, threads = demo
    checked = 0
    for thread, verdict, files in threads:
        for name in files:
            facts = messages[name]
            if not facts.is_from_me:
                continue
            result = classify_sent(facts)
            if verdict not in PROPOSAL_VERDICTS or name == THANK_YOU:
                assert not result.is_tracked, (thread, name, result)
                continue
            checked += 1
            assert result.is_tracked, (thread, name, result)
            assert result.kind == KINDS[thread], (thread, name, result)
            for attachment in facts.attachments:
                assert f"attachment {attachment.filename}" in result.reasons
            assert any(r.startswith("price ") for r in result.reasons), (thread, result)
            if thread == "03":
                assert "DocuSign link" in result.reasons
    assert checked == 14  # 12 threads, plus v1 and v2 in 09 and the INBOX copy in 10


def test_demo_automatic_messages_and_the_bounce(
    demo: tuple[dict[str, MessageFacts], list[tuple[str, str, list[str]]]],
) -> None:
    messages, threads = demo
    assert automatic_reason(messages[OUT_OF_OFFICE]) == "out-of-office reply"
    assert automatic_reason(messages[READ_RECEIPT]) == "read receipt"
    assert bounce_of(messages[BOUNCE]) == Bounce(
        messages[BOUNCED_PROPOSAL].message_id,
        ("mateusz.nowack@wisla-ceramics.example",),
        reason="the address does not exist (550 5.1.1 <mateusz.nowack@wisla-ceramics.example>:"
        " Recipient address rejected: User unknown in virtual mailbox table)",
    )
    for thread, verdict, files in threads:
        for name in files:
            facts = messages[name]
            if name in (OUT_OF_OFFICE, READ_RECEIPT, BOUNCE):
                continue
            assert bounce_of(facts) is None, name
            if verdict == "not-a-proposal" and not facts.is_from_me and thread == "11a":
                assert automatic_reason(facts) == "mailing list", name
            else:  # every human message, replies found only in spam or by subject too
                assert automatic_reason(facts) is None, (thread, name)


def test_remembering_classifier_classifies_each_message_once() -> None:
    from watcher.analysis.proposals import RememberingClassifier

    facts = MessageFacts(key="k", subject="Angebot Website", body_text="Anbei unser Angebot.")
    remembering = RememberingClassifier({})
    first = remembering(facts)
    assert first == classify_sent(facts) and first.is_tracked
    assert list(remembering.fresh.values()) == [first]
    again = RememberingClassifier(dict(remembering.fresh))
    assert again(facts) == first and again.fresh == {}  # known from the store: not redone
    with_keywords = RememberingClassifier(dict(remembering.fresh), ["retainer"])
    with_keywords(facts)
    assert with_keywords.fresh  # other keywords: another verdict, computed afresh
    edited = MessageFacts(key="k", subject="Angebot Website v2", body_text="Anbei unser Angebot.")
    assert again.digest(edited) != again.digest(facts)


def test_currency_codes_inside_words_or_urls_are_not_prices() -> None:
    facts = MessageFacts(
        key="k", subject="link", body_text="see http://shop.example/nok88worgsmc.html"
    )
    assert not any(r.startswith("price") for r in classify_sent(facts).reasons)
