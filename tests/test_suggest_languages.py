"""Suggested follow-ups in the thread's language and my voice (issue 12, the digest side):
golden texts per language and situation, the register and greeting I used, dates and
weekdays in the language's own form, the sign-off, and English for a language the texts do
not know. Greetings and sign-offs are built by hand here; how they are read from my mail is
tested in test_voice.py."""

from __future__ import annotations

from datetime import date

import pytest

from watcher.analysis.language import LANGUAGES
from watcher.analysis.voice import Greeting, SignOff
from watcher.config.digest import TEMPLATE_LANGUAGES, check_template
from watcher.digest.model import FIRST, LAST, REMINDER
from watcher.digest.phrasebook import PHRASEBOOKS, language_note, text_language
from watcher.digest.suggest import suggest_follow_up

SENT = date(2026, 11, 2)  # a Monday
NOTE = date(2026, 11, 12)  # my follow-up, a Thursday
# My greeting in the tracked message, the contact's first name as the directory has it, what
# was sent and under which name; per language.
CASES = {
    "en": (
        Greeting("Dear Ms Raman,", True, "Ms Raman"),
        "Priya",
        "proposal",
        "Proposal_Acme_v2.pdf",
    ),
    "de": (
        Greeting("Hallo Herr Becker,", True, "Herr Becker"),
        "Jonas",
        "quote",
        "Angebot_2026-114.pdf",
    ),
    "fr": (
        Greeting("Bonjour Camille,", True, "Camille"),
        "Camille",
        "quote",
        "Devis_DL-2026-031.pdf",
    ),
    "es": (Greeting("Hola Lucía:", False, "Lucía"), "Lucía", "quote", "Presupuesto_2026-118.pdf"),
    "nl": (Greeting("Beste Sanne,", False, "Sanne"), "Sanne", "proposal", "Voorstel_Tulp.pdf"),
    "it": (
        Greeting("Gentile dott. Rossi,", True, "dott. Rossi"),
        "Marco",
        "contract",
        "Contratto_2026.pdf",
    ),
    "pt": (Greeting("Olá João,", False, "João"), "João", "proposal", "Proposta_Loja.pdf"),
    "sv": (Greeting("Hej Erik,", False, "Erik"), "Erik", "offer", "Offert_Sandberg.pdf"),
}
SITUATIONS: dict[str, dict[str, object]] = {
    "first": {"rung": FIRST, "quiet_days": 5, "reminder_number": 0},
    # After a follow-up of mine on the 12th: the proposal's own date, and my note's.
    "reminder": {
        "rung": REMINDER,
        "quiet_days": 4,
        "reminder_number": 1,
        "nudges": 1,
        "quiet_since": NOTE,
    },
    "long_quiet": {"rung": FIRST, "quiet_days": 21, "reminder_number": 0},
    "last": {"rung": LAST, "quiet_days": 45, "reminder_number": 4},
}


def suggest(
    language: str,
    situation: str = "first",
    *,
    greeting: Greeting | None = None,
    first_name: str = "",
    kind: str = "proposal",
    attachments: tuple[str, ...] = (),
    **changes: object,
) -> str:
    facts: dict[str, object] = {
        "first_name": first_name,
        "subject": "Re: Website",
        "kind": kind,
        "sent_on": SENT,
        "attachments": attachments,
        "language": language,
        "greeting": greeting,
        "sender_name": "Maya Lindqvist",
        **SITUATIONS[situation],
    }
    facts.update(changes)
    return suggest_follow_up(**facts)  # type: ignore[arg-type]


def golden_case(language: str, situation: str) -> str:
    greeting, first_name, kind, document = CASES[language]
    return suggest(
        language,
        situation,
        greeting=greeting,
        first_name=first_name,
        kind=kind,
        attachments=(document,),
    )


# Read them: each is what a fluent speaker would send as it is.
GOLDEN = {
    ("en", "first"): (
        "Dear Ms Raman,\n"
        "\n"
        "I sent you the proposal (Proposal_Acme_v2.pdf) on 2 November and haven't heard"
        " back yet; I know how full inboxes get.\n"
        "\n"
        "Would a 15-minute call on Monday or Tuesday help? I can walk you through it "
        'and answer any questions. And if the timing is wrong, a one-line "not now" is '
        "a perfectly good answer.\n"
        "\n"
        "Best,\n"
        "Maya Lindqvist"
    ),
    ("en", "reminder"): (
        "Dear Ms Raman,\n"
        "\n"
        "I haven't heard back about the proposal (Proposal_Acme_v2.pdf) I sent on 2 "
        "November or my note of 12 November, and I have one more thought. If the scope "
        "or the budget is what's holding it up, I can suggest a smaller first phase.\n"
        "\n"
        "Would 15 minutes on Wednesday or Thursday help us wrap it up? If now isn't the"
        " time, that's fine too: just tell me when would suit you better.\n"
        "\n"
        "Best,\n"
        "Maya Lindqvist"
    ),
    ("en", "long_quiet"): (
        "Dear Ms Raman,\n"
        "\n"
        "I sent you the proposal (Proposal_Acme_v2.pdf) on 2 November, and I should "
        "have followed up long before now. If it's still of interest, I'd be glad to "
        "pick up where we left off and update anything that has changed since.\n"
        "\n"
        "Would a 15-minute call on Wednesday or Thursday work? If your plans have moved"
        " on, a one-line reply is all I need.\n"
        "\n"
        "Best,\n"
        "Maya Lindqvist"
    ),
    ("en", "last"): (
        "Dear Ms Raman,\n"
        "\n"
        "I haven't heard back about the proposal (Proposal_Acme_v2.pdf) I sent on 2 "
        "November, so I'll take it that now isn't the right time, and I won't keep "
        "writing about it.\n"
        "\n"
        "If things change, just reply here and we'll pick it up from where we left off."
        " Thank you for considering it.\n"
        "\n"
        "Best,\n"
        "Maya Lindqvist"
    ),
    ("de", "first"): (
        "Hallo Herr Becker,\n"
        "\n"
        "am 2. November habe ich Ihnen das Angebot (Angebot_2026-114.pdf) geschickt und"
        " bisher noch keine Rückmeldung bekommen – ich weiß, wie voll der Posteingang "
        "oft ist.\n"
        "\n"
        "Hätten Sie am Montag oder Dienstag Zeit für ein kurzes Telefonat von 15 "
        "Minuten? Dann gehe ich alles mit Ihnen durch und beantworte Ihre Fragen. Und "
        "wenn es gerade nicht passt, reicht mir auch ein kurzes „jetzt nicht“.\n"
        "\n"
        "Viele Grüße\n"
        "Maya Lindqvist"
    ),
    ("de", "reminder"): (
        "Hallo Herr Becker,\n"
        "\n"
        "am 2. November habe ich Ihnen das Angebot (Angebot_2026-114.pdf) geschickt und"
        " am 12. November noch einmal nachgefragt; eine Antwort habe ich bisher nicht "
        "bekommen. Noch ein Gedanke: Falls der Umfang oder das Budget der Haken ist, "
        "kann ich gern eine kleinere erste Phase vorschlagen.\n"
        "\n"
        "Hätten Sie am Mittwoch oder Donnerstag 15 Minuten Zeit für die offenen Punkte?"
        " Wenn es gerade nicht passt, ist das auch in Ordnung – sagen Sie mir einfach, "
        "wann es Ihnen besser passt.\n"
        "\n"
        "Viele Grüße\n"
        "Maya Lindqvist"
    ),
    ("de", "long_quiet"): (
        "Hallo Herr Becker,\n"
        "\n"
        "am 2. November habe ich Ihnen das Angebot (Angebot_2026-114.pdf) geschickt, "
        "und ich hätte mich schon viel früher wieder melden sollen. Falls das Thema für"
        " Sie noch aktuell ist, knüpfe ich gern dort an, wo wir aufgehört haben, und "
        "passe an, was sich seitdem geändert hat.\n"
        "\n"
        "Hätten Sie am Mittwoch oder Donnerstag Zeit für ein kurzes Telefonat von 15 "
        "Minuten? Falls sich Ihre Pläne inzwischen geändert haben, genügt mir eine "
        "kurze Antwort.\n"
        "\n"
        "Viele Grüße\n"
        "Maya Lindqvist"
    ),
    ("de", "last"): (
        "Hallo Herr Becker,\n"
        "\n"
        "am 2. November habe ich Ihnen das Angebot (Angebot_2026-114.pdf) geschickt; "
        "eine Antwort ist bisher nicht gekommen. Ich gehe daher davon aus, dass der "
        "Zeitpunkt gerade nicht passt, und werde nicht weiter nachhaken.\n"
        "\n"
        "Wenn sich etwas ändert, antworten Sie einfach auf diese Nachricht, dann machen"
        " wir dort weiter, wo wir aufgehört haben. Vielen Dank, dass Sie es in Betracht"
        " gezogen haben.\n"
        "\n"
        "Viele Grüße\n"
        "Maya Lindqvist"
    ),
    ("fr", "first"): (
        "Bonjour Camille,\n"
        "\n"
        "Je vous ai envoyé le devis (Devis_DL-2026-031.pdf) le 2 novembre et je n'ai "
        "pas encore eu de retour ; je sais combien les boîtes de réception sont "
        "chargées.\n"
        "\n"
        "Un appel de 15 minutes lundi ou mardi vous serait-il utile ? Je peux tout vous"
        " présenter et répondre à vos questions. Et si le moment est mal choisi, un "
        "simple « pas maintenant » est une très bonne réponse.\n"
        "\n"
        "Cordialement,\n"
        "Maya Lindqvist"
    ),
    ("fr", "reminder"): (
        "Bonjour Camille,\n"
        "\n"
        "Je vous ai envoyé le devis (Devis_DL-2026-031.pdf) le 2 novembre, puis un "
        "petit mot le 12 novembre, et je n'ai pas encore eu de nouvelles. Entre-temps, "
        "une idée m'est venue : si c'est le périmètre ou le budget qui bloque, je peux "
        "proposer une première phase plus réduite.\n"
        "\n"
        "Auriez-vous 15 minutes mercredi ou jeudi pour que nous fassions le point ? Si "
        "ce n'est pas le moment, aucun souci : dites-moi simplement quand cela vous "
        "conviendrait mieux.\n"
        "\n"
        "Cordialement,\n"
        "Maya Lindqvist"
    ),
    ("fr", "long_quiet"): (
        "Bonjour Camille,\n"
        "\n"
        "Je vous ai envoyé le devis (Devis_DL-2026-031.pdf) le 2 novembre, et j'aurais "
        "dû vous recontacter bien plus tôt. Si le sujet vous intéresse toujours, je "
        "reprends volontiers là où nous nous étions arrêtés et je mets à jour ce qui a "
        "changé depuis.\n"
        "\n"
        "Un appel de 15 minutes mercredi ou jeudi vous conviendrait-il ? Si vos projets"
        " ont changé, une réponse d'une ligne me suffit.\n"
        "\n"
        "Cordialement,\n"
        "Maya Lindqvist"
    ),
    ("fr", "last"): (
        "Bonjour Camille,\n"
        "\n"
        "Je vous ai envoyé le devis (Devis_DL-2026-031.pdf) le 2 novembre et je n'ai "
        "pas eu de retour ; j'en conclus que le moment n'est pas le bon, et je ne vous "
        "relancerai plus à ce sujet.\n"
        "\n"
        "Si les choses évoluent, il suffit de répondre à ce message et nous reprendrons"
        " là où nous nous étions arrêtés. Merci d'y avoir réfléchi.\n"
        "\n"
        "Cordialement,\n"
        "Maya Lindqvist"
    ),
    ("es", "first"): (
        "Hola Lucía:\n"
        "\n"
        "Te envié el presupuesto (Presupuesto_2026-118.pdf) el 2 de noviembre y todavía"
        " no he tenido respuesta; sé lo llenas que suelen estar las bandejas de "
        "entrada.\n"
        "\n"
        "¿Te vendría bien una llamada de 15 minutos el lunes o el martes? Puedo "
        "explicarte los detalles y resolver tus dudas. Y si no es buen momento, un "
        "simple «ahora no» es una respuesta perfectamente válida.\n"
        "\n"
        "Un saludo,\n"
        "Maya"
    ),
    ("es", "reminder"): (
        "Hola Lucía:\n"
        "\n"
        "Te envié el presupuesto (Presupuesto_2026-118.pdf) el 2 de noviembre y un "
        "mensaje breve el 12 de noviembre, pero aún no he tenido noticias. Se me ha "
        "ocurrido una idea más: si lo que frena es el alcance o el presupuesto, puedo "
        "proponer una primera fase más pequeña.\n"
        "\n"
        "¿Tendrías 15 minutos el miércoles o el jueves para cerrar los detalles? Si "
        "ahora no es el momento, no pasa nada: dime simplemente cuándo te vendría "
        "mejor.\n"
        "\n"
        "Un saludo,\n"
        "Maya"
    ),
    ("es", "long_quiet"): (
        "Hola Lucía:\n"
        "\n"
        "Te envié el presupuesto (Presupuesto_2026-118.pdf) el 2 de noviembre, y "
        "debería haberte escrito mucho antes. Si todavía te interesa, retomo el tema "
        "con gusto donde lo dejamos y actualizo lo que haya cambiado desde entonces.\n"
        "\n"
        "¿Te vendría bien una llamada de 15 minutos el miércoles o el jueves? Si tus "
        "planes han cambiado, me basta con una respuesta de una línea.\n"
        "\n"
        "Un saludo,\n"
        "Maya"
    ),
    ("es", "last"): (
        "Hola Lucía:\n"
        "\n"
        "Te envié el presupuesto (Presupuesto_2026-118.pdf) el 2 de noviembre, pero no "
        "he tenido respuesta, así que entiendo que ahora no es el momento y no volveré "
        "a escribirte sobre esto.\n"
        "\n"
        "Si las cosas cambian, responde a este mensaje y lo retomamos donde lo dejamos."
        " Gracias por tenerlo en cuenta.\n"
        "\n"
        "Un saludo,\n"
        "Maya"
    ),
    ("nl", "first"): (
        "Beste Sanne,\n"
        "\n"
        "Op 2 november heb ik je het voorstel (Voorstel_Tulp.pdf) gestuurd en ik heb "
        "nog niets van je gehoord; ik weet hoe vol een inbox kan zijn.\n"
        "\n"
        "Zou een kort telefoontje van 15 minuten op maandag of dinsdag helpen? Dan loop"
        " ik alles met je door en beantwoord ik je vragen. En als het nu niet uitkomt, "
        "is een kort ‘nu even niet’ ook een prima antwoord.\n"
        "\n"
        "Hartelijke groet,\n"
        "Maya"
    ),
    ("nl", "reminder"): (
        "Beste Sanne,\n"
        "\n"
        "Op 2 november heb ik je het voorstel (Voorstel_Tulp.pdf) gestuurd en op 12 "
        "november nog een kort bericht, maar ik heb nog niets van je gehoord. Intussen "
        "heb ik nog een idee: als de omvang of het budget het struikelblok is, kan ik "
        "een kleinere eerste fase voorstellen.\n"
        "\n"
        "Heb je op woensdag of donderdag 15 minuten om de laatste punten door te nemen?"
        " Komt het nu niet uit, dan is dat ook prima: laat me gewoon weten wanneer het "
        "jou beter past.\n"
        "\n"
        "Hartelijke groet,\n"
        "Maya"
    ),
    ("nl", "long_quiet"): (
        "Beste Sanne,\n"
        "\n"
        "Op 2 november heb ik je het voorstel (Voorstel_Tulp.pdf) gestuurd, en ik had "
        "veel eerder iets van me moeten laten horen. Als het nog actueel voor je is, "
        "pak ik de draad graag weer op en werk ik bij wat er sindsdien veranderd is.\n"
        "\n"
        "Past een kort telefoontje van 15 minuten op woensdag of donderdag? Als je "
        "plannen inmiddels anders zijn, is een antwoord van één regel genoeg.\n"
        "\n"
        "Hartelijke groet,\n"
        "Maya"
    ),
    ("nl", "last"): (
        "Beste Sanne,\n"
        "\n"
        "Op 2 november heb ik je het voorstel (Voorstel_Tulp.pdf) gestuurd, maar ik heb"
        " niets meer gehoord. Ik ga er daarom van uit dat het nu niet het juiste moment"
        " is, en ik zal er niet verder over mailen.\n"
        "\n"
        "Als er iets verandert, kun je gewoon op dit bericht reageren; dan gaan we "
        "verder waar we gebleven waren. Bedankt dat je erover hebt nagedacht.\n"
        "\n"
        "Hartelijke groet,\n"
        "Maya"
    ),
    ("it", "first"): (
        "Gentile dott. Rossi,\n"
        "\n"
        "Le ho inviato il contratto (Contratto_2026.pdf) lunedì 2 novembre e non ho "
        "ancora ricevuto risposta; so bene quanto si riempiano in fretta le caselle di "
        "posta.\n"
        "\n"
        "Le andrebbe una telefonata di 15 minuti lunedì o martedì? Posso illustrarle "
        "tutto e rispondere alle sue domande. E se il momento non è quello giusto, un "
        "semplice «non ora» è una risposta più che valida.\n"
        "\n"
        "Cordiali saluti,\n"
        "Maya Lindqvist"
    ),
    ("it", "reminder"): (
        "Gentile dott. Rossi,\n"
        "\n"
        "Le ho inviato il contratto (Contratto_2026.pdf) lunedì 2 novembre e le ho "
        "riscritto giovedì 12 novembre, ma non ho ancora avuto notizie. Nel frattempo "
        "mi è venuta in mente un'altra cosa: se prima della firma c'è qualcosa da "
        "modificare, mi dica cosa e le mando una versione aggiornata in giornata.\n"
        "\n"
        "Avrebbe 15 minuti mercoledì o giovedì per definire insieme gli ultimi "
        "dettagli? Se ora non è il momento, nessun problema: mi dica solo quando le "
        "farebbe più comodo.\n"
        "\n"
        "Cordiali saluti,\n"
        "Maya Lindqvist"
    ),
    ("it", "long_quiet"): (
        "Gentile dott. Rossi,\n"
        "\n"
        "Le ho inviato il contratto (Contratto_2026.pdf) lunedì 2 novembre e avrei "
        "dovuto farmi risentire molto prima. Se l'argomento le interessa ancora, "
        "riprendo volentieri da dove ci eravamo lasciati e aggiorno ciò che nel "
        "frattempo è cambiato.\n"
        "\n"
        "Le andrebbe una telefonata di 15 minuti mercoledì o giovedì? Se i suoi piani "
        "sono cambiati, mi basta una risposta di una riga.\n"
        "\n"
        "Cordiali saluti,\n"
        "Maya Lindqvist"
    ),
    ("it", "last"): (
        "Gentile dott. Rossi,\n"
        "\n"
        "Le ho inviato il contratto (Contratto_2026.pdf) lunedì 2 novembre, ma non ho "
        "avuto risposta: immagino quindi che non sia il momento giusto, e non le "
        "scriverò più a questo proposito.\n"
        "\n"
        "Se le cose dovessero cambiare, basta rispondere a questa email e riprendiamo "
        "da dove ci eravamo lasciati. Grazie per l'attenzione.\n"
        "\n"
        "Cordiali saluti,\n"
        "Maya Lindqvist"
    ),
    ("pt", "first"): (
        "Olá João,\n"
        "\n"
        "Enviei a proposta (Proposta_Loja.pdf) para você no dia 2 de novembro e ainda "
        "não recebi resposta; sei bem como as caixas de entrada ficam cheias.\n"
        "\n"
        "Uma conversa de 15 minutos por telefone na segunda-feira ou na terça-feira "
        "seria útil para você? Posso apresentar tudo e tirar as suas dúvidas. E, se o "
        "momento não for o ideal, um simples “agora não” é uma resposta perfeitamente "
        "válida.\n"
        "\n"
        "Um abraço,\n"
        "Maya"
    ),
    ("pt", "reminder"): (
        "Olá João,\n"
        "\n"
        "Enviei a proposta (Proposta_Loja.pdf) para você no dia 2 de novembro e voltei "
        "a escrever no dia 12 de novembro, mas ainda não recebi resposta. Deixo mais "
        "uma ideia: se a questão for a dimensão do projeto ou o orçamento, posso propor"
        " uma primeira fase menor.\n"
        "\n"
        "Você teria 15 minutos na quarta-feira ou na quinta-feira para fecharmos os "
        "detalhes? Se agora não for o momento, sem problema: é só me dizer quando seria"
        " melhor para você.\n"
        "\n"
        "Um abraço,\n"
        "Maya"
    ),
    ("pt", "long_quiet"): (
        "Olá João,\n"
        "\n"
        "Enviei a proposta (Proposta_Loja.pdf) para você no dia 2 de novembro e deveria"
        " ter voltado a escrever muito antes. Se o assunto ainda interessar a você, "
        "retomo com prazer de onde paramos e atualizo o que tiver mudado desde então.\n"
        "\n"
        "Uma conversa de 15 minutos por telefone na quarta-feira ou na quinta-feira "
        "seria útil? Se os seus planos mudaram, uma resposta de uma linha já basta.\n"
        "\n"
        "Um abraço,\n"
        "Maya"
    ),
    ("pt", "last"): (
        "Olá João,\n"
        "\n"
        "Enviei a proposta (Proposta_Loja.pdf) para você no dia 2 de novembro, mas não "
        "recebi resposta; por isso, entendo que este não é o momento certo e não volto "
        "a escrever sobre o assunto.\n"
        "\n"
        "Se algo mudar, é só responder a esta mensagem e retomamos de onde paramos. "
        "Agradeço a atenção.\n"
        "\n"
        "Um abraço,\n"
        "Maya"
    ),
    ("sv", "first"): (
        "Hej Erik,\n"
        "\n"
        "Den 2 november skickade jag erbjudandet (Offert_Sandberg.pdf) och har inte "
        "hört något ännu; jag vet hur fulla inkorgarna kan bli.\n"
        "\n"
        "Har du en kvart på måndag eller tisdag för ett kort samtal? Då kan jag gå "
        "igenom allt och svara på dina frågor. Och om det inte passar just nu räcker "
        "det gott med ett kort ”inte nu”.\n"
        "\n"
        "Vänliga hälsningar\n"
        "Maya"
    ),
    ("sv", "reminder"): (
        "Hej Erik,\n"
        "\n"
        "Den 2 november skickade jag erbjudandet (Offert_Sandberg.pdf) och den 12 "
        "november ett kort mejl till, men jag har inte hört något ännu. Jag har en "
        "tanke till: om det är omfattningen eller budgeten som bromsar kan jag föreslå "
        "en mindre första fas.\n"
        "\n"
        "Har du en kvart på onsdag eller torsdag så att vi kan gå igenom det sista "
        "tillsammans? Om det inte passar nu går det också bra, säg bara när det passar "
        "dig bättre.\n"
        "\n"
        "Vänliga hälsningar\n"
        "Maya"
    ),
    ("sv", "long_quiet"): (
        "Hej Erik,\n"
        "\n"
        "Den 2 november skickade jag erbjudandet (Offert_Sandberg.pdf), och jag borde "
        "ha hört av mig långt tidigare. Om det fortfarande är aktuellt tar jag gärna "
        "upp tråden där vi slutade och uppdaterar det som ändrats sedan dess.\n"
        "\n"
        "Har du en kvart på onsdag eller torsdag för ett kort samtal? Om era planer har"
        " ändrats räcker det med ett svar på en rad.\n"
        "\n"
        "Vänliga hälsningar\n"
        "Maya"
    ),
    ("sv", "last"): (
        "Hej Erik,\n"
        "\n"
        "Den 2 november skickade jag erbjudandet (Offert_Sandberg.pdf), men jag har "
        "inte hört något. Jag antar därför att tidpunkten inte är rätt just nu och hör "
        "inte av mig mer om det.\n"
        "\n"
        "Om något ändras är det bara att svara på det här mejlet, så tar vi upp det där"
        " vi slutade. Tack för att du tog dig tid att fundera på det.\n"
        "\n"
        "Vänliga hälsningar\n"
        "Maya"
    ),
}


@pytest.mark.parametrize(("language", "situation"), GOLDEN)
def test_golden_texts(language: str, situation: str) -> None:
    assert golden_case(language, situation) == GOLDEN[language, situation]


def test_the_golden_texts_cover_every_language_and_situation() -> None:
    assert set(GOLDEN) == {(lang, sit) for lang in LANGUAGES for sit in SITUATIONS}
    assert tuple(PHRASEBOOKS) == LANGUAGES == TEMPLATE_LANGUAGES


# -- the register and the greeting I used ----------------------------------------------------
# Words only the formal (first) or the informal (second) text of a language has.
REGISTER_WORDS = {
    "de": (("Ihnen", "Sie "), ("dir ", "du ")),
    "fr": ((" vous",), (" t'", " te ", " tes ", " tu ")),
    "es": (("Le envié", "¿Le "), ("Te envié", "¿Te ")),
    "nl": ((" u ",), (" je ",)),
    "it": (("Le ho", "Le andrebbe"), ("Ti ho", "Ti andrebbe")),
    "pt": (("Enviei a proposta “Website” no dia",), ("você",)),
}


@pytest.mark.parametrize("language", REGISTER_WORDS)
@pytest.mark.parametrize("situation", SITUATIONS)
def test_the_register_i_used_is_the_register_of_the_text(language: str, situation: str) -> None:
    formal_words, informal_words = REGISTER_WORDS[language]
    formal = suggest(language, situation, greeting=Greeting("", True, ""))
    informal = suggest(language, situation, greeting=Greeting("", False, ""))
    assert any(word in formal for word in formal_words), formal
    assert not any(word in formal for word in informal_words), formal
    assert any(word in informal for word in informal_words), informal
    assert not any(word in informal for word in formal_words), informal
    # Where I showed no register, the formal text: the safer one for a business follow-up.
    assert suggest(language, situation) == formal


@pytest.mark.parametrize(
    ("language", "greeting", "starts"),
    [
        ("de", Greeting("Hallo Herr Becker,", True, "Herr Becker"), "Hallo Herr Becker,\n\nam "),
        (
            "de",
            Greeting("Sehr geehrte Frau Dr. Wolff", True, "Frau Dr. Wolff"),
            "Sehr geehrte Frau Dr. Wolff\n\nAm ",
        ),  # no comma: the text starts a sentence of its own
        ("de", Greeting("Hi Jonas,", False, "Jonas"), "Hi Jonas,\n\nam 2. November habe ich dir"),
        ("es", Greeting("Hola Lucía:", False, "Lucía"), "Hola Lucía:\n\nTe envié "),
        ("es", Greeting("Estimado Sr. Ruiz:", True, "Sr. Ruiz"), "Estimado Sr. Ruiz:\n\nLe envié "),
        ("en", Greeting("Dear Ms Raman,", True, "Ms Raman"), "Dear Ms Raman,\n\nI sent you "),
        ("en", Greeting("Hi Jonas,", False, "Jonas"), "Hi Jonas,\n\nI sent you "),
        ("fr", Greeting("Madame,", True, ""), "Madame,\n\nJe vous ai envoyé "),
        ("it", Greeting("Ciao Giulia,", False, "Giulia"), "Ciao Giulia,\n\nTi ho inviato "),
        (
            "nl",
            Greeting("Geachte heer De Vries,", True, "heer De Vries"),
            "Geachte heer De Vries,\n\nOp 2 november heb ik u ",
        ),
        (
            "pt",
            Greeting("Prezado Sr. Costa,", True, "Sr. Costa"),
            "Prezado Sr. Costa,\n\nEnviei a ",
        ),
        ("sv", Greeting("Hejsan Erik!", False, "Erik"), "Hejsan Erik!\n\nDen 2 november "),
    ],
)
def test_my_greeting_stays_as_i_wrote_it(language: str, greeting: Greeting, starts: str) -> None:
    # The directory's first name is not used: I wrote to Herr Becker, not to Jonas.
    text = suggest(language, greeting=greeting, first_name="Jonas")
    assert text.startswith(starts), text


@pytest.mark.parametrize(
    ("language", "named", "unnamed"),
    [
        ("en", "Hi Jonas,", "Hello,"),
        ("de", "Hallo Jonas,", "Guten Tag,"),
        ("fr", "Bonjour Jonas,", "Bonjour,"),
        ("es", "Hola, Jonas:", "Buenos días:"),
        ("nl", "Beste Jonas,", "Goedendag,"),
        ("it", "Buongiorno Jonas,", "Buongiorno,"),
        ("pt", "Olá, Jonas,", "Olá,"),
        ("sv", "Hej Jonas,", "Hej,"),
    ],
)
def test_without_a_greeting_of_mine_the_first_name_in_that_language(
    language: str, named: str, unnamed: str
) -> None:
    assert suggest(language, first_name="Jonas").split("\n")[0] == named
    assert suggest(language).split("\n")[0] == unnamed
    # A formal text without a greeting of mine invents no first name: it could be one I
    # never used ("Hallo Jonas," to someone I call Herr Becker).
    formal = suggest(language, first_name="Jonas", greeting=Greeting("", True, ""))
    assert formal.split("\n")[0] == (unnamed if language not in ("en", "sv") else named)


@pytest.mark.parametrize(
    "greeting",
    ["", "   ", "x" * 81, "Hallo\x1b]0;pwned\x07 Herr Becker,", "Hallo\nBcc: x@y"],
)
def test_a_greeting_unfit_to_stand_as_a_line_is_not_used(greeting: str) -> None:
    text = suggest("de", greeting=Greeting(greeting, True, ""), first_name="Jonas")
    assert text.startswith("Guten Tag,\n\nam 2. November habe ich Ihnen")


def test_a_no_break_space_in_my_greeting_is_a_space() -> None:
    text = suggest("de", greeting=Greeting("Hallo\xa0Herr\u202fBecker,", True, "Herr Becker"))
    assert text.startswith("Hallo Herr Becker,\n\nam 2. November")


# -- what was sent and when ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "day", "written"),
    [
        ("en", date(2026, 11, 28), "on 28 November"),
        ("de", date(2026, 11, 28), "am 28. November"),
        ("fr", date(2026, 11, 28), "le 28 novembre"),
        ("fr", date(2026, 12, 1), "le 1er décembre"),
        ("fr", date(2026, 11, 11), "le 11 novembre"),
        ("es", date(2026, 11, 28), "el 28 de noviembre"),
        ("nl", date(2026, 11, 28), "Op 28 november"),
        ("it", date(2026, 11, 28), "sabato 28 novembre"),  # no article to elide: l'8, l'11
        ("it", date(2026, 12, 8), "martedì 8 dicembre"),
        ("pt", date(2026, 11, 28), "no dia 28 de novembro"),
        ("sv", date(2026, 11, 28), "Den 28 november"),
    ],
)
def test_the_date_in_the_languages_own_form(language: str, day: date, written: str) -> None:
    assert written in suggest(language, sent_on=day)


@pytest.mark.parametrize(
    ("language", "call"),
    [
        ("en", "on Monday or Tuesday"),  # Monday 2 Nov + 5 days quiet: from two days on
        ("de", "am Montag oder Dienstag"),
        ("fr", "lundi ou mardi"),
        ("es", "el lunes o el martes"),
        ("nl", "op maandag of dinsdag"),
        ("it", "lunedì o martedì"),
        ("pt", "na segunda-feira ou na terça-feira"),
        ("sv", "på måndag eller tisdag"),
    ],
)
def test_the_call_days_are_named_in_the_language(language: str, call: str) -> None:
    assert call in suggest(language)


@pytest.mark.parametrize(
    ("language", "about"),
    [
        ("en", "the quote (Angebot_2026-114.pdf and Preisliste.pdf)"),
        ("de", "das Angebot (Angebot_2026-114.pdf und Preisliste.pdf)"),
        ("fr", "le devis (Angebot_2026-114.pdf et Preisliste.pdf)"),
        ("es", "el presupuesto (Angebot_2026-114.pdf y Preisliste.pdf)"),
        ("nl", "de offerte (Angebot_2026-114.pdf en Preisliste.pdf)"),
        ("it", "il preventivo (Angebot_2026-114.pdf e Preisliste.pdf)"),
        ("pt", "o orçamento (Angebot_2026-114.pdf e Preisliste.pdf)"),
        ("sv", "offerten (Angebot_2026-114.pdf och Preisliste.pdf)"),
    ],
)
def test_the_documents_sent_are_named(language: str, about: str) -> None:
    documents = ("Angebot_2026-114.pdf", "Preisliste.pdf")
    assert about in suggest(language, kind="quote", attachments=documents)


def test_without_a_document_the_subject_names_it_and_many_documents_are_cut_short() -> None:
    text = suggest("de", kind="quote", subject="AW: Angebot 2026-114")
    assert "das Angebot „Angebot 2026-114“" in text
    many = suggest("en", attachments=tuple(f"part{n}.pdf" for n in range(1, 6)))
    assert "(part1.pdf, part2.pdf, part3.pdf, …)" in many


def test_after_my_note_both_dates_are_named_in_every_language() -> None:
    for language in LANGUAGES:
        text = suggest(language, "reminder")
        assert text.count("12") == 1 and text.count(" 2") >= 1, text  # the proposal's, my note's
    assert "I sent on 2 November or my note of 12 November" in suggest("en", "reminder")
    assert "am 12. November noch einmal nachgefragt" in suggest("de", "reminder")
    last = suggest("es", "last", nudges=1, quiet_since=NOTE)
    assert "el 2 de noviembre y un mensaje breve el 12 de noviembre, pero" in last


# -- the sign-off --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "formal", "closing"),
    [
        ("en", None, "Best,\nMaya"),
        ("en", True, "Best,\nMaya Lindqvist"),
        ("de", None, "Viele Grüße\nMaya Lindqvist"),
        ("de", False, "Viele Grüße\nMaya"),
        ("fr", True, "Cordialement,\nMaya Lindqvist"),
        ("es", True, "Un saludo,\nMaya Lindqvist"),
        ("nl", True, "Met vriendelijke groet,\nMaya Lindqvist"),
        ("it", True, "Cordiali saluti,\nMaya Lindqvist"),
        ("pt", True, "Atenciosamente,\nMaya Lindqvist"),
        ("sv", None, "Vänliga hälsningar\nMaya"),
    ],
)
def test_the_languages_closing_and_the_name_i_sent_under(
    language: str, formal: bool | None, closing: str
) -> None:
    greeting = None if formal is None else Greeting("", formal, "")
    assert suggest(language, greeting=greeting).endswith("\n\n" + closing)


def test_the_sign_off_i_use_wins_and_the_configured_one_wins_over_it() -> None:
    mine = SignOff("Un abrazo,", "Maya")
    assert suggest("es", sign_off=mine).endswith("\n\nUn abrazo,\nMaya")
    assert suggest("es", sign_off=SignOff("", "Maya")).endswith("\n\nMaya")
    configured = suggest("es", sign_off=mine, signature="Saludos,\nMaya L.")
    assert configured.endswith("\n\nSaludos,\nMaya L.")
    per_language = {"es.signature": "Abrazos,\nMaya", "signature": "Best,\nM."}
    text = suggest("es", sign_off=mine, signature="Saludos,\nMaya L.", templates=per_language)
    assert text.endswith("\n\nAbrazos,\nMaya")
    # [digest.templates] signature is English's; [digest] signature every language's.
    assert suggest("en", templates=per_language).endswith("\n\nBest,\nM.")
    assert suggest("de", templates=per_language, signature="VG\nMaya").endswith("\n\nVG\nMaya")


def test_without_a_name_the_closing_alone_and_a_hostile_name_is_left_out() -> None:
    assert suggest("de", sender_name="").endswith("\n\nViele Grüße")
    assert suggest("de", sender_name="maya@studio.example").endswith("\n\nViele Grüße")
    assert suggest("de", sender_name="Maya\x1b[2J").endswith("\n\nViele Grüße")
    hostile = SignOff("Best,\x1b[2J", "Maya")
    assert suggest("en", sign_off=hostile).endswith("\n\nMaya")


# -- a language the texts do not know --------------------------------------------------------


@pytest.mark.parametrize("language", ["", "no", "da", "pl", "zz"])
def test_another_language_gets_the_english_text(language: str) -> None:
    english = suggest("en", first_name="Ingrid")
    assert text_language(language) == "en"
    # My greeting in that language is not mirrored: "Hei Ingrid," does not open English.
    assert suggest(language, first_name="Ingrid") == english


@pytest.mark.parametrize(
    ("language", "note"),
    [
        ("de", "suggestion in German, the thread's language"),
        (
            "",
            "suggestion in English: the thread's language (not recognised) is not one the "
            "texts know",
        ),
        (
            "no",
            "suggestion in English: the thread's language (Norwegian) is not one the texts know",
        ),
    ],
)
def test_the_language_note(language: str, note: str) -> None:
    assert language_note(language) == note


# -- user templates per language ---------------------------------------------------------------


def test_a_template_per_language_and_english_ones_stay_english() -> None:
    templates = {
        "first": "{greeting}\n\nEnglish {about}.\n\n{signature}",
        "de.first": "{greeting}\n\nwie steht es um {about} vom {sent_on}? {call_days}"
        "\n\n{signature}",
    }
    german = suggest(
        "de",
        greeting=Greeting("Hallo Herr Becker,", True, ""),
        templates=templates,
        kind="quote",
        attachments=("A.pdf",),
    )
    assert german == (
        "Hallo Herr Becker,\n\nwie steht es um das Angebot (A.pdf) vom 2. November? Montag "
        "oder Dienstag\n\nViele Grüße\nMaya Lindqvist"
    )
    assert suggest("en", templates=templates).startswith("Hello,\n\nEnglish the proposal")
    assert suggest("fr", templates=templates) == suggest("fr")  # no French text of mine
    assert suggest("en", templates={"en.first": "{greeting} en"}) == "Hello, en"


# -- every built-in text ---------------------------------------------------------------------
FORBIDDEN = ("just checking in", "just following up", "urgent", "asap", "!", "¡", "{", "}")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("formal", [True, False])
@pytest.mark.parametrize("situation", SITUATIONS)
@pytest.mark.parametrize("kind", ["proposal", "contract", ""])
def test_every_built_in_text_keeps_the_voice(
    language: str, formal: bool, situation: str, kind: str
) -> None:
    text = suggest(
        language,
        situation,
        greeting=Greeting("", formal, ""),
        kind=kind,
        attachments=("Proposal_Acme_v2.pdf",),
    )
    assert len(text.split()) < 95, text  # about 80 words, with the greeting and sign-off
    assert not [phrase for phrase in FORBIDDEN if phrase in text.lower()]
    assert "(Proposal_Acme_v2.pdf)" in text
    assert "\n\n\n" not in text and "  " not in text and " ," not in text


def test_the_built_in_texts_take_only_documented_placeholders() -> None:
    for book in PHRASEBOOKS.values():
        for register in (book.formal, book.informal):
            for name, text in register.items():
                if name not in ("hello_named", "hello", "noted", "closing"):
                    assert check_template(text) is None, (book.language, name)
