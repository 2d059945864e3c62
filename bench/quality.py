"""How right are the verdicts on real mail? Precision and recall against hand-made labels.

Each of the seven Enron mailboxes in ../shared/corpus/enron-sample.tar.xz is analysed as its
own account ("me" is that person: the From addresses of their sent folders), as of a `now`
inside 2002, with the same parser as a Maildir sync and the default settings. The verdicts
are compared with the labels in bench/quality/:

- `proposals.csv`: sent messages labelled `proposal` (a proposal, quote, contract, agreement
  or similar sent for the other side to accept, sign or decide on, in my own words),
  `not`, or `borderline` (left out of the figures);
- `threads.csv`: tracked messages labelled `answered` or `awaiting` (did anyone answer it
  within the mailbox?).

Rows name a message by `mailbox` and `key`, a hash of its sender, subject and opening text
(see `message_key`): no message text is kept in the repository. Run from the repo root:

    .venv/bin/python bench/quality.py                   # the figures
    .venv/bin/python bench/quality.py --worksheet DIR   # sheets to label by hand (mail text;
                                                        # write them outside the repository)
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import mailbox
import random
import re
import sys
import tarfile
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import compat32
from pathlib import Path
from zoneinfo import ZoneInfo

from watcher.analysis.conversations import Conversation, ThreadMessage, build_conversations
from watcher.analysis.tracker import AWAITING, TrackedMessage, track
from watcher.cli.demo import DEMO_ADDRESS, DEMO_ALIASES
from watcher.config.settings import Account
from watcher.config.tracking import Tracking
from watcher.identity import Identity
from watcher.mail.maildir import sync_maildir_account
from watcher.mail.parse import facts_from_raw
from watcher.model import MessageFacts, StoredMessage
from watcher.store.store import Store

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "enron-sample.tar.xz"
LABELS = Path(__file__).resolve().parent / "quality"
DEMO_MAILBOX = REPO / "watcher" / "demo_mailbox"
SENT_FOLDERS = {"sent", "sent_items", "_sent_mail"}
NOW = datetime(2002, 7, 1, 8, tzinfo=UTC)  # after the last mail of the sample
ZONE = ZoneInfo("America/Chicago")  # Enron was in Houston
ANSWERED = "answered"

# Words that make an untracked sent message worth a look when sampling for labels: generous
# on purpose (the misses are what the sample must find), never used by the product.
_CANDIDATE = re.compile(
    r"contract|agreement|propos|quot(e|ation)|offer|\bbids?\b|draft|redline|mark-?up|"
    r"amend|addend|term sheet|\bloi\b|letter of intent|\bnda\b|confidential|\bmsa\b|\bsow\b|"
    r"\brfp\b|tender|engagement|guarant|confirm|attached|enclosed|for your (review|signature|"
    r"approval)|execut|\bsign|\$\s?\d|price|pricing|rate",
    re.IGNORECASE,
)


# The default settings, internal mail too, and every message followed (whatever it is, a
# labelled thread then has a reply verdict).
_SETTINGS = (Tracking(), Tracking(track_internal=True), Tracking(track="all", track_internal=True))


@dataclass
class Mailbox:
    """One person's mailbox: its conversations and the verdicts on it."""

    name: str
    me: list[str]
    raw: dict[str, bytes]  # facts key -> the message as it was
    conversations: list[Conversation]
    tracked: list[TrackedMessage]  # with the default settings: what went outside
    tracked_internal: list[TrackedMessage]  # with track_internal = true
    tracked_all: list[TrackedMessage]  # track = "all" and track_internal: reply verdicts


def message_key(facts: MessageFacts) -> str:
    """Names one message across its copies (the overlapping sent folders differ in Date and
    Message-ID, not in sender, subject and text)."""
    sender = facts.from_[0][1].lower() if facts.from_ else ""
    opening = " ".join(facts.body_text.split())[:300]
    text = f"{sender}|{' '.join(facts.subject.lower().split())}|{opening}"
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]


def read_corpus(directory: Path) -> dict[str, list[tuple[str, bool, bytes]]]:
    """mailbox name -> (folder, is a sent folder, raw message) for every message."""
    with tarfile.open(CORPUS, "r:xz") as tar:
        tar.extractall(directory, filter="data")
    found: dict[str, list[tuple[str, bool, bytes]]] = defaultdict(list)
    for path in sorted(directory.iterdir()):
        user, _, folder = path.name.removeprefix("enron.").partition(".")
        for message in mailbox.mbox(path, create=False):
            found[user].append((folder, folder in SENT_FOLDERS, message.as_bytes()))
    return found


def analyse(name: str, items: list[tuple[str, bool, bytes]]) -> Mailbox:
    nobody = Identity([])
    parsed: list[tuple[str, MessageFacts]] = []
    raw: dict[str, bytes] = {}
    sent_from: Counter[str] = Counter()
    for number, (folder, is_sent, data) in enumerate(items):
        key = f"{name}:{number}"
        facts = facts_from_raw(data, key=key, identity=nobody, in_sent_folder=is_sent)
        if is_sent:
            sent_from.update(a.lower() for _, a in facts.from_[:1])
        parsed.append((folder, facts))
        raw[key] = data
    me = [address for address, count in sent_from.most_common(5) if count >= 5]
    identity = Identity(me)
    stored = []
    for folder, facts in parsed:
        mine = folder in SENT_FOLDERS or any(identity.is_me(a) for _, a in facts.from_)
        if mine and not facts.body_text:
            # Mail of mine found outside the sent folders: its text, as the sync keeps it.
            facts = facts_from_raw(
                raw[facts.key], key=facts.key, identity=identity, in_sent_folder=True
            )
        stored.append(_stored(name, folder, replace(facts, is_from_me=mine)))
    conversations = build_conversations(stored)
    tracked, tracked_internal, tracked_all = (
        track(
            conversations,
            identity=identity,
            tracking=tracking,
            overrides={},
            now=NOW,
            zone=ZONE,
        )
        for tracking in _SETTINGS
    )
    return Mailbox(name, me, raw, conversations, tracked, tracked_internal, tracked_all)


def analyse_demo(scratch: Path) -> Mailbox:
    """The bundled demo mailbox, through the real Maildir sync, as of the day after its
    newest message (its dates are not shifted here, so the keys stay the same)."""
    account = Account(
        name="demo", addresses=(DEMO_ADDRESS,), aliases=DEMO_ALIASES, maildir=DEMO_MAILBOX
    )
    with Store.open(scratch / "demo.sqlite3") as store:
        sync_maildir_account(account, store, lookback_days=0)
        stored = list(store.stored_messages())
    raw = {m.facts.key: b"" for m in stored}
    conversations = build_conversations(stored)
    newest = max(m.facts.date or 0 for m in stored)
    tracked, tracked_internal, tracked_all = (
        track(
            conversations,
            identity=Identity(account.own_addresses),
            tracking=tracking,
            overrides={},
            now=datetime.fromtimestamp(newest + 86400, UTC),
            zone=ZoneInfo("Europe/Stockholm"),
        )
        for tracking in _SETTINGS
    )
    me = [DEMO_ADDRESS, *DEMO_ALIASES]
    return Mailbox("demo", me, raw, conversations, tracked, tracked_internal, tracked_all)


def _stored(account: str, folder: str, facts: MessageFacts) -> StoredMessage:
    use = "\\Sent" if folder in SENT_FOLDERS else ""
    return StoredMessage(account=account, folder=folder, folder_use=use, facts=facts)


def sent_messages(box: Mailbox) -> Iterator[ThreadMessage]:
    """Each message I sent, once (copies in several sent folders are one message)."""
    seen: set[str] = set()
    for conversation in box.conversations:
        for message in conversation.messages:
            if not message.in_sent:
                continue
            key = message_key(message.facts)
            if key not in seen:
                seen.add(key)
                yield message


# -- the figures -----------------------------------------------------------------------------


def read_labels(name: str) -> dict[tuple[str, str], tuple[str, str]]:
    path = LABELS / name
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            (row["mailbox"], row["key"]): (row["label"].strip(), row["reason"].strip())
            for row in csv.DictReader(handle)
            if not row["mailbox"].startswith("#")
        }


def read_holdout() -> set[tuple[str, str]]:
    with (LABELS / "proposals.csv").open(encoding="utf-8", newline="") as handle:
        return {
            (row["mailbox"], row["key"])
            for row in csv.DictReader(handle)
            if row["stratum"].startswith("holdout")
        }


def read_weights() -> dict[tuple[str, str], float]:
    """(mailbox, key) -> how many sent messages of the mailbox the label stands for: the
    first sample drew a fixed number from each stratum (tracked then; untracked with a
    document or money word; the rest), so a label weighs its stratum's size / its sample."""
    with (LABELS / "sample.csv").open(encoding="utf-8", newline="") as handle:
        design = {
            (row["mailbox"], row["stratum"]): int(row["population"]) / int(row["sampled"])
            for row in csv.DictReader(handle)
            if int(row["sampled"])
        }
    with (LABELS / "proposals.csv").open(encoding="utf-8", newline="") as handle:
        return {
            (row["mailbox"], row["key"]): design[(row["mailbox"], row["stratum"])]
            for row in csv.DictReader(handle)
            if (row["mailbox"], row["stratum"]) in design
        }


def report(boxes: list[Mailbox]) -> None:
    proposals = read_labels("proposals.csv")
    threads = read_labels("threads.csv")
    tracked_by_key: dict[tuple[str, str], TrackedMessage] = {}
    internal_by_key: dict[tuple[str, str], TrackedMessage] = {}
    sent_keys: set[tuple[str, str]] = set()
    external: set[tuple[str, str]] = set()  # went to someone outside the owner's domains
    for box in boxes:
        for item in box.tracked:
            tracked_by_key.setdefault((box.name, message_key(item.message.facts)), item)
        for item in box.tracked_internal:
            internal_by_key.setdefault((box.name, message_key(item.message.facts)), item)
        own_domains = {a.rpartition("@")[2] for a in box.me}
        for message in sent_messages(box):
            key = (box.name, message_key(message.facts))
            sent_keys.add(key)
            recipients = message.facts.to + message.facts.cc + message.facts.bcc
            if any(a.lower().rpartition("@")[2] not in own_domains for _, a in recipients):
                external.add(key)
    outside = {k: v for k, v in proposals.items() if k in external}
    # The labels judge the act, whoever it went to; by default the watcher follows only what
    # went outside the organisation, so the default figures are those of that subset.
    print_proposal_figures(
        outside, tracked_by_key, sent_keys, "default settings: sent outside the organisation"
    )
    print_weighted_figures(outside, tracked_by_key, read_weights())
    print_proposal_figures(
        proposals, internal_by_key, sent_keys, "track_internal = true: all labelled messages"
    )
    print_weighted_figures(proposals, internal_by_key, read_weights())
    holdout = read_holdout()
    if holdout:
        # Labelled after the rules were written, by people who never saw them: the honest
        # figure for mail the rules were not fitted to.
        print_proposal_figures(
            {k: v for k, v in outside.items() if k in holdout},
            tracked_by_key,
            sent_keys,
            "holdout (labelled after the rules), default settings: sent outside",
        )
        print_proposal_figures(
            {k: v for k, v in proposals.items() if k in holdout},
            internal_by_key,
            sent_keys,
            "holdout, track_internal = true: all",
        )
    # Reply verdicts do not depend on the audience nor on the proposal verdict: judged on
    # every labelled thread, followed with track = "all".
    all_by_key = {
        (box.name, message_key(item.message.facts)): item
        for box in boxes
        for item in box.tracked_all
    }
    print_thread_figures(threads, all_by_key, 'track = "all"', show_wrong=True)
    # The verdicts a user of the default `track = "proposals"` sees (fewer threads).
    print_thread_figures(
        threads, internal_by_key, "proposals followed, track_internal = true", show_wrong=True
    )


def print_weighted_figures(
    proposals: dict[tuple[str, str], tuple[str, str]],
    tracked_by_key: dict[tuple[str, str], TrackedMessage],
    weights: dict[tuple[str, str], float],
) -> None:
    """The figures for the mailboxes as a whole (the labelled set over-samples tracked mail)."""
    totals: Counter[str] = Counter()
    for key, (label, _reason) in proposals.items():
        weight = weights.get(key)
        if weight is None or label == "borderline":
            continue
        tracked = key in tracked_by_key
        if label == "proposal":
            totals["tp" if tracked else "fn"] += weight
        elif tracked:
            totals["fp"] += weight
    tp, fp, fn = totals["tp"], totals["fp"], totals["fn"]
    precision = f"{tp / (tp + fp):.2f}" if tp + fp else "n/a"
    recall = f"{tp / (tp + fn):.2f}" if tp + fn else "n/a"
    print(
        "   estimated for the whole mailboxes (each first-sample label weighted by its "
        f"stratum): precision {precision}, recall {recall} "
        f"(about {tp + fn:.0f} proposals among the sent mail)"
    )


def print_proposal_figures(
    proposals: dict[tuple[str, str], tuple[str, str]],
    tracked_by_key: dict[tuple[str, str], TrackedMessage],
    sent_keys: set[tuple[str, str]],
    title: str,
) -> None:
    confusion: Counter[tuple[str, bool]] = Counter()
    false_reasons: Counter[str] = Counter()
    misses: list[tuple[str, str, str]] = []
    unknown = 0
    for key, (label, reason) in proposals.items():
        if key not in sent_keys:
            unknown += 1
            continue
        item = tracked_by_key.get(key)
        confusion[(label, item is not None)] += 1
        if label == "not" and item is not None:
            false_reasons.update(_reason_kind(r) for r in item.reasons)
        if label == "proposal" and item is None:
            misses.append((key[0], key[1], reason))
    tp, fp = confusion[("proposal", True)], confusion[("not", True)]
    fn = confusion[("proposal", False)]
    print(f"\n== {title}: {len(proposals)} ({unknown} not found in the analysis)")
    print("\n                 tracked   not tracked")
    for label in ("proposal", "not", "borderline"):
        print(f"  {label:<12} {confusion[(label, True)]:>9} {confusion[(label, False)]:>13}")
    print(f"\nproposal precision {_ratio(tp, tp + fp)}  recall {_ratio(tp, tp + fn)}")
    print("  targets: precision >= 0.90, recall >= 0.85")
    if false_reasons:
        print("\nreasons behind the false positives (how often each kind of reason appeared):")
        for kind, count in false_reasons.most_common(8):
            print(f"  {count:>4}  {kind}")
    if misses:
        print(f"\nmissed proposals ({len(misses)}), the labeller's reasons:")
        for mailbox_name, key, reason in misses[:15]:
            print(f"  {mailbox_name}/{key}: {reason[:100]}")


def print_thread_figures(
    threads: dict[tuple[str, str], tuple[str, str]],
    tracked_by_key: dict[tuple[str, str], TrackedMessage],
    settings: str,
    *,
    show_wrong: bool = False,
) -> None:
    verdicts: Counter[tuple[str, str]] = Counter()
    hinted: Counter[str] = Counter()  # awaiting verdicts with "heard since", by label
    wrong: list[str] = []
    for key, (label, reason) in sorted(threads.items()):
        item = tracked_by_key.get(key)
        if item is None or label not in (ANSWERED, AWAITING):
            continue
        state = item.state if item.state in (ANSWERED, AWAITING) else "other"
        verdicts[(state, label)] += 1
        if state == AWAITING:
            # Any time up to NOW (months after most of the mail): an upper bound of what a
            # digest in the first weeks would show.
            hinted[label] += item.heard_since is not None
        if state != label:
            by = f"by {item.answered_by[1]}" if item.answered_by else ""
            said = "; ".join((by, *item.notes))[:110]
            wrong.append(f"  {key[0]}/{key[1]} said {state} ({said})\n      label: {reason}")
    if verdicts:
        print(f"\n== thread verdicts, {settings} (rows: the watcher, columns: labels)")
        print(f"  {'':<10} {'answered':>9} {'awaiting':>9}")
        for state in (ANSWERED, AWAITING, "other"):
            print(
                f"  {state:<10} {verdicts[(state, ANSWERED)]:>9} {verdicts[(state, AWAITING)]:>9}"
            )
        right_await, said_await = verdicts[(AWAITING, AWAITING)], _row(verdicts, AWAITING)
        right_answer, said_answer = verdicts[(ANSWERED, ANSWERED)], _row(verdicts, ANSWERED)
        print(
            f"\n'awaiting' precision {_ratio(right_await, said_await)}"
            f"  'answered' precision {_ratio(right_answer, said_answer)}"
        )
        print("  targets: awaiting >= 0.90, answered >= 0.95")
        print(
            f"  'awaiting' with a 'heard since' hint: {hinted[AWAITING]} of "
            f"{verdicts[(AWAITING, AWAITING)]} right ones, {hinted[ANSWERED]} of "
            f"{verdicts[(AWAITING, ANSWERED)]} wrong ones"
        )
        if wrong and show_wrong:
            print(f"\nwrong reply verdicts ({len(wrong)}):")
            print("\n".join(wrong))


def _row(verdicts: Counter[tuple[str, str]], state: str) -> int:
    return verdicts[(state, ANSWERED)] + verdicts[(state, AWAITING)]


def _ratio(part: int, whole: int) -> str:
    return f"{part / whole:.2f} ({part}/{whole})" if whole else "n/a"


def _reason_kind(reason: str) -> str:
    """'keyword "contract" in subject' -> 'keyword in subject': the kind, not the word."""
    return re.sub(r"['\"][^'\"]*['\"]|\d[\d,.]*", "…", reason)[:60]


# -- the worksheet ---------------------------------------------------------------------------


def write_worksheet(
    boxes: list[Mailbox], directory: Path, seed: int, *, holdout: bool = False
) -> None:
    """Per mailbox, a sample of sent messages to label (stratified: tracked now; untracked
    with a document or money word; the rest) and the tracked threads with what followed.

    `holdout`: a later, smaller sample of messages not labelled yet, its strata drawn from
    the verdicts with track_internal = true, to check rules on mail their author never saw.
    """
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    labelled = set(read_labels("proposals.csv")) if holdout else set()
    for box in boxes:
        verdicts = box.tracked_internal if holdout else box.tracked
        tracked_keys = {message_key(t.message.facts): t for t in verdicts}
        strata: dict[str, list[ThreadMessage]] = {"tracked": [], "candidate": [], "other": []}
        for message in sent_messages(box):
            key = message_key(message.facts)
            if (box.name, key) in labelled:
                continue
            text = f"{message.facts.subject}\n{message.facts.body_text[:2000]}"
            stratum = (
                "tracked"
                if key in tracked_keys
                else ("candidate" if _CANDIDATE.search(text) else "other")
            )
            strata[stratum].append(message)
        quota = {"tracked": 40, "candidate": 40, "other": 10}
        if holdout:
            quota = {"tracked": 10, "candidate": 12, "other": 3}
            strata = {f"holdout-{name}": messages for name, messages in strata.items()}
            quota = {f"holdout-{name}": size for name, size in quota.items()}
        with (directory / f"{box.name}.txt").open("w", encoding="utf-8") as out:
            out.write(f"# mailbox {box.name}; me = {', '.join(box.me)}\n")
            out.write("# sizes: " + ", ".join(f"{k} {len(v)}" for k, v in strata.items()) + "\n")
            for stratum, messages in strata.items():
                for message in rng.sample(messages, min(quota[stratum], len(messages))):
                    verdict = tracked_keys.get(message_key(message.facts))
                    _write_message(out, box, message, stratum, verdict)
                    if not stratum.endswith("other"):
                        _write_thread(out, box, message, verdict)


# The act of sending a document for review, signature or a decision, in my own text: the
# second sample ("likely") looks for what the first found too rarely among untracked mail.
_LIKELY = re.compile(
    r"(attached|enclosed|draft|redline|revised|mark-?up|execution|for your (review|comments|"
    r"signature|approval)|please (review|sign|approve|comment)|let me know if)"
    r".{0,200}?(agreement|contract|proposal|\bloi\b|letter|term sheet|confirmation|amendment|"
    r"offer|\bbid\b|quote|terms|price|pricing)",
    re.IGNORECASE | re.DOTALL,
)


def write_likely_worksheet(boxes: list[Mailbox], directory: Path, seed: int) -> None:
    """Untracked sent messages not labelled yet whose own text (quotes removed) sends a
    document or terms for review: where the misses hide."""
    from watcher.analysis.owntext import own_text

    labelled = set(read_labels("proposals.csv"))
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for box in boxes:
        tracked_keys = {message_key(t.message.facts) for t in box.tracked}
        likely = [
            m
            for m in sent_messages(box)
            if message_key(m.facts) not in tracked_keys
            and (box.name, message_key(m.facts)) not in labelled
            and _LIKELY.search(f"{m.facts.subject}\n{own_text(m.facts.body_text)}")
        ]
        with (directory / f"{box.name}-likely.txt").open("w", encoding="utf-8") as out:
            out.write(f"# mailbox {box.name}; me = {', '.join(box.me)}; likely {len(likely)}\n")
            for message in rng.sample(likely, min(25, len(likely))):
                _write_message(out, box, message, "likely", None)
                _write_thread(out, box, message, None)


def _write_message(
    out: Iterable[str] | object,
    box: Mailbox,
    message: ThreadMessage,
    stratum: str,
    verdict: TrackedMessage | None,
) -> None:
    facts = message.facts
    lines = [
        f"\n### {message_key(facts)}  [{stratum}]",
        f"folders: {', '.join(message.folders)}",
        f"from: {_people(facts.from_)}",
        f"to: {_people(facts.to)}",
        f"cc: {_people(facts.cc)}",
        f"date: {_when(message.when)}",
        f"subject: {facts.subject}",
        f"attachments: {', '.join(a.filename for a in facts.attachments) or '-'}",
        "watcher: "
        + (f"TRACKED as {verdict.kind}: {'; '.join(verdict.reasons)}" if verdict else "not"),
        "----",
        facts.body_text[:3000].strip(),
    ]
    out.write("\n".join(lines) + "\n")  # type: ignore[attr-defined]


def _write_thread(
    out: object, box: Mailbox, sent: ThreadMessage, item: TrackedMessage | None
) -> None:
    conversation = next(c for c in box.conversations if sent in c.messages)
    facts = sent.facts
    sent_at = sent.when or 0
    if item is not None:
        answered = f" by {item.answered_by[1]}" if item.answered_by else ""
        lines = [f"watcher's thread verdict: {item.state}{answered}; {'; '.join(item.notes)}"]
    else:
        lines = ["watcher's thread verdict: - (not tracked)"]
    lines.append("conversation as the watcher built it:")
    for message in conversation.messages:
        lines.append(
            f"  - {_when(message.when)} from {_people(message.facts.from_)}: "
            f"{message.facts.subject[:80]} [{', '.join(message.folders)[:60]}]"
        )
        if message is not sent and message.when and message.when > sent_at:
            lines.append("      " + _opening(box.raw.get(message.facts.key, b""), 400))
    contacts = {a.lower() for _, a in facts.to + facts.cc} - set(box.me)
    # Their organisations, not mine: a colleague of mine writing is no answer from them.
    domains = {a.rpartition("@")[2] for a in contacts} - {a.rpartition("@")[2] for a in box.me}
    later = [
        m
        for c in box.conversations
        for m in c.messages
        if c is not conversation
        and not m.facts.is_from_me
        and m.when
        and sent_at < m.when < sent_at + 45 * 86400
        and any(
            a.lower() in contacts or a.lower().rpartition("@")[2] in domains
            for _, a in m.facts.from_
        )
    ]
    lines.append("mail from those people (or their domains) in the 45 days after, elsewhere:")
    for message in sorted(later, key=lambda m: m.when or 0)[:12]:
        lines.append(
            f"  - {_when(message.when)} from {_people(message.facts.from_)}: "
            f"{message.facts.subject[:80]}"
        )
        lines.append("      " + _opening(box.raw.get(message.facts.key, b""), 300))
    out.write("\n".join(lines) + "\n")  # type: ignore[attr-defined]


def _opening(raw: bytes, limit: int) -> str:
    message = message_from_bytes(raw, policy=compat32)
    part = next((p for p in message.walk() if p.get_content_type() == "text/plain"), None)
    payload = part.get_payload(decode=True) if part is not None else None
    text = payload.decode("latin-1") if isinstance(payload, bytes) else ""
    return " ".join(text.split())[:limit]


def _people(addresses: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"{n} <{a}>" if n else a for n, a in list(addresses)[:8]) or "-"


def _when(seconds: int | None) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M") if seconds else "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worksheet", type=Path, help="write labelling sheets here")
    parser.add_argument("--seed", type=int, default=16, help="seed of the label sample")
    parser.add_argument(
        "--likely", action="store_true", help="with --worksheet: the second sample (likely misses)"
    )
    parser.add_argument(
        "--holdout", action="store_true", help="with --worksheet: a sample of unlabelled mail"
    )
    parser.add_argument("--mailbox", action="append", help="only these mailboxes")
    args = parser.parse_args(argv)
    if not CORPUS.is_file():
        print(f"quality.py: {CORPUS} is missing (the shared corpus)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="watcher-quality-") as scratch:
        corpus = read_corpus(Path(scratch))
        boxes = [
            analyse(name, items)
            for name, items in sorted(corpus.items())
            if not args.mailbox or name in args.mailbox
        ]
        if not args.mailbox or "demo" in args.mailbox:
            boxes.append(analyse_demo(Path(scratch)))
    for box in boxes:
        states = Counter(t.state for t in box.tracked)
        print(
            f"{box.name}: {len(box.conversations)} conversations, "
            f"{sum(1 for _ in sent_messages(box))} sent, tracked {len(box.tracked)} "
            f"({', '.join(f'{k} {v}' for k, v in states.most_common())})"
        )
    if args.worksheet and args.likely:
        write_likely_worksheet(boxes, args.worksheet, args.seed)
        print(f"worksheets written to {args.worksheet}")
        return 0
    if args.worksheet:
        write_worksheet(boxes, args.worksheet, args.seed, holdout=args.holdout)
        print(f"worksheets written to {args.worksheet}")
        return 0
    report(boxes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
