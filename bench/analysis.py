"""How fast is the analysis (conversations + tracker), and how good are its verdicts?

Builds a store from the Enron sample (../shared/corpus/enron-sample.tar.xz: 22,176 messages,
no threading headers at all) without a server, using the same header parser as the sync, and a
100k-message store (the sample replicated with shifted Message-IDs). For each it times, in a
fresh child process (for an honest peak RSS): loading the facts from SQLite, rebuilding the
conversations, and tracking, as of a `now` inside 2001. Then it prints how many of the sent
messages were classified proposals or contracts, how many of those await a reply, and 20
random examples (subject and reasons) for a person to judge precision. Run from the repo root:

    .venv/bin/python bench/analysis.py [--copies 5] [--seed 7] [--keep DIR]
"""

from __future__ import annotations

import argparse
import mailbox
import random
import resource
import statistics
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import compat32
from multiprocessing import get_context
from pathlib import Path

from watcher.analysis.conversations import build_conversations
from watcher.analysis.proposals import RememberingClassifier
from watcher.analysis.tracker import AWAITING, track
from watcher.config.tracking import Tracking
from watcher.identity import Identity
from watcher.mail.parse import BODY_TEXT_LIMIT, facts_from_headers, header_end
from watcher.model import MessageFacts
from watcher.store.store import FolderState, Store

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "enron-sample.tar.xz"
SENT_FOLDERS = {"sent", "sent_items", "_sent_mail"}
ACCOUNT = "enron"
NOW = datetime(2001, 12, 1, 8, tzinfo=UTC)  # inside the corpus' busiest year
ZONE = "America/Chicago"  # Enron was in Houston


def enron_messages(directory: Path) -> Iterator[tuple[str, bool, bytes]]:
    """(folder, is a sent folder, raw message) for every message of the sample."""
    with tarfile.open(CORPUS, "r:xz") as tar:
        tar.extractall(directory, filter="data")
    for path in sorted(directory.iterdir()):
        name = path.name.removeprefix("enron.")
        user, _, folder = name.partition(".")
        for message in mailbox.mbox(path, create=False):
            raw = message.as_bytes()
            yield f"{user}/{folder.replace('.', '/')}", folder in SENT_FOLDERS, raw


def own_addresses(sent_from: Counter[str]) -> list[str]:
    return [address for address, _ in sent_from.most_common(7)]


def body_of(raw: bytes) -> str:
    message = message_from_bytes(raw, policy=compat32)
    part = next((p for p in message.walk() if p.get_content_type() == "text/plain"), None)
    payload = part.get_payload(decode=True) if part is not None else None
    if not isinstance(payload, bytes):
        return ""
    return payload.decode("latin-1")[:BODY_TEXT_LIMIT]


def build_store(path: Path, copies: int, scratch: Path) -> tuple[int, list[str]]:
    """Write the sample (times `copies`) into a store at `path`; return the count and me."""
    rows: list[tuple[str, bool, MessageFacts]] = []
    sent_from: Counter[str] = Counter()
    nobody = Identity([])
    for number, (folder, is_sent, raw) in enumerate(enron_messages(scratch)):
        facts = facts_from_headers(
            raw[: header_end(raw)], key=str(number), identity=nobody, in_sent_folder=is_sent
        )
        if is_sent:
            facts = replace(facts, body_text=body_of(raw))
            sent_from.update(a for _, a in facts.from_[:1])
        rows.append((folder, is_sent, facts))
    me = own_addresses(sent_from)
    identity = Identity(me)
    count = 0
    with Store.open(path) as store, store.transaction():
        for copy in range(copies):
            suffix = f".copy{copy}" if copy else ""
            by_folder: dict[str, list[MessageFacts]] = {}
            for folder, is_sent, facts in rows:
                shifted = replace(
                    facts,
                    key=f"{facts.key}{suffix}",
                    message_id=facts.message_id.replace("@", f"{suffix}@", 1),
                    is_from_me=is_sent or any(identity.is_me(a) for _, a in facts.from_),
                    # Each copy lives in its own stretch of time, so copies never thread together.
                    date=None if facts.date is None else facts.date - copy * 86400 * 400,
                )
                by_folder.setdefault(f"{folder}{suffix}", []).append(shifted)
            for folder, facts_list in by_folder.items():
                use = "\\Sent" if folder.split("/")[1].split(".")[0] in SENT_FOLDERS else ""
                store.save_folder_state(FolderState(ACCOUNT, folder, use, initial_done=True))
                count += store.put_messages(ACCOUNT, folder, facts_list)
    return count, me


def measure(path: str, me: list[str]) -> dict[str, float]:
    """Runs in a fresh child: load, conversations, tracker; times and peak RSS."""
    from zoneinfo import ZoneInfo

    started = time.perf_counter()
    with Store.open(Path(path)) as store:
        messages = list(store.stored_messages())
        classifier = RememberingClassifier(store.classifications())
        loaded = time.perf_counter()
        conversations = build_conversations(messages)
        threaded = time.perf_counter()
        tracked = track(
            conversations,
            identity=Identity(me),
            tracking=Tracking(),
            overrides={},
            now=NOW,
            zone=ZoneInfo(ZONE),
            classify=classifier,
        )
        finished = time.perf_counter()
        with store.transaction():  # as the pipeline does: remember what was classified
            store.save_classifications(classifier.fresh)
    return {
        "messages": len(messages),
        "load": loaded - started,
        "conversations": threaded - loaded,
        "tracker": finished - threaded,
        "threads": len(conversations),
        "tracked": len(tracked),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_measure(path: Path, me: list[str], runs: int) -> tuple[dict[str, float], dict[str, float]]:
    """The first analysis of a store (every sent message classified), then the median of
    `runs` later ones (classifications remembered), each in a fresh process."""
    with Store.open(path) as store, store.transaction():
        store.forget_classifications()
    context = get_context("spawn")
    results = []
    for _ in range(runs + 1):
        with context.Pool(1) as pool:
            results.append(pool.apply(measure, (str(path), me)))
    later = results[1:]
    return results[0], {key: statistics.median(r[key] for r in later) for key in later[0]}


def quality_report(path: Path, me: list[str], seed: int) -> None:
    from zoneinfo import ZoneInfo

    with Store.open(path) as store:
        conversations = build_conversations(store.stored_messages())
    tracked = track(
        conversations,
        identity=Identity(me),
        tracking=Tracking(),
        overrides={},
        now=NOW,
        zone=ZoneInfo(ZONE),
    )
    sent = sum(1 for c in conversations for m in c.messages if m.in_sent)
    states = Counter(t.state for t in tracked)
    kinds = Counter(t.kind for t in tracked)
    awaiting = [t for t in tracked if t.state == AWAITING]
    print(f"\nEnron sample as of {NOW.date()}: {len(conversations)} conversations, {sent} sent")
    by_kind = ", ".join(f"{k} {v}" for k, v in kinds.most_common())
    print(f"classified proposals/contracts: {len(tracked)} ({by_kind})")
    print(f"verdicts: {', '.join(f'{k} {v}' for k, v in states.most_common())}")
    print(f"awaiting a reply: {len(awaiting)}, due: {sum(t.due for t in awaiting)}")
    print(f"\n20 random classified messages (seed {seed}):")
    for item in random.Random(seed).sample(tracked, min(20, len(tracked))):
        print(f"- [{item.state}] {item.subject[:70]!r}")
        print(f"    {'; '.join(item.reasons)[:150]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=5, help="copies in the large store")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per store; medians")
    parser.add_argument("--seed", type=int, default=7, help="seed for the 20 examples")
    parser.add_argument("--keep", type=Path, help="build the stores in this directory")
    args = parser.parse_args(argv)
    if not CORPUS.is_file():
        print(f"analysis.py: {CORPUS} is missing (the shared corpus)", file=sys.stderr)
        return 2
    work = args.keep or Path(tempfile.mkdtemp(prefix="watcher-analysis-"))
    work.mkdir(parents=True, exist_ok=True)
    small, large = work / "enron.sqlite3", work / "enron-x.sqlite3"
    for path in (small, large):
        path.unlink(missing_ok=True)
    started = time.perf_counter()
    count, me = build_store(small, 1, work / "mbox")
    big_count, _ = build_store(large, args.copies, work / "mbox")
    took = time.perf_counter() - started
    print(f"stores built in {took:.1f} s: {count} and {big_count} messages")
    print(f"me: {', '.join(me)}")
    print(f"\neach in a fresh process; 'later' is the median of {args.runs} runs:")
    print(
        f"{'messages':>9} {'run':>6} {'load':>8} {'threads':>8} {'tracker':>8} "
        f"{'analysis':>9} {'RSS':>7}"
    )
    for path in (small, large):
        for label, r in zip(("first", "later"), run_measure(path, me, args.runs), strict=True):
            analysis = r["conversations"] + r["tracker"]
            print(
                f"{int(r['messages']):>9} {label:>6} {r['load']:>7.2f}s {r['conversations']:>7.2f}s"
                f" {r['tracker']:>7.2f}s {analysis:>8.2f}s {r['rss_mb']:>5.0f}MB"
            )
    print("target: 100k messages analysed (conversations + tracker) in < 1 s, RSS < 200 MB")
    quality_report(small, me, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
