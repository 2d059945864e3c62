"""How fast is a first IMAP sync, compared with what the server and the usual tools allow?

Loads the Enron sample (../shared/corpus/enron-sample.tar.xz, 22,176 messages, one mbox per
folder) into a private Dovecot, then measures, as medians of --runs runs:

  (a) a cold watcher sync into a fresh SQLite file;
  (b) the floor: one bare imaplib `UID FETCH 1:*` per folder of the sync's own fetch items;
  (c) an idle poll: a second watcher sync with nothing new;
  (d) the obvious idle poll: LIST and one STATUS per folder through bare imaplib;
  (e) what most tools do: imapclient `fetch(ENVELOPE BODYSTRUCTURE FLAGS)`, 1000 UIDs a time;

and the peak RSS of one cold sync run in a fresh child process. Every figure includes connect,
login and logout, as a real sync does. Run from the repo root:

    /tmp/venv/bin/python bench/sync.py [--runs N] [--limit N] [--profile] [--keep DIR] [--tls]
"""

from __future__ import annotations

import argparse
import cProfile
import imaplib
import logging
import pstats
import re
import resource
import ssl
import statistics
import sys
import tarfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parseaddr, parsedate_to_datetime
from multiprocessing import get_context
from pathlib import Path
from typing import TypeVar

from imapclient import IMAPClient

from watcher.config.settings import Account
from watcher.credentials import Secret
from watcher.mail.connection import connect
from watcher.mail.folders import choose_folders, list_folders
from watcher.mail.imap import ImapSync, sync_imap_account
from watcher.store.store import Store

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "enron-sample.tar.xz"
# The Dovecot fixture lives with the tests; it is a plain module, not a package.
sys.path.insert(0, str(REPO / "tests"))
from dovecot import DovecotServer, DovecotUnavailable, MailUser  # noqa: E402

ACCOUNT = "enron"
NAIVE_CHUNK = 1000
STATUS_ITEMS = "(MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)"
# The watcher recognises sent folders by name ("sent items", "sent mail"; no SPECIAL-USE on
# these), so the Enron names are spelled the way real clients spell them.
SENT_FOLDERS = {"sent": "sent", "sent_items": "sent items", "_sent_mail": "sent mail"}
MBOX_FROM_LINE = re.compile(rb"^From [^\n]*\n", re.MULTILINE)
LINE_END = re.compile(rb"\r?\n")
HEADER_LINE = {
    name: re.compile(rb"^" + name + rb":[ \t]*([^\r\n]*)", re.MULTILINE | re.IGNORECASE)
    for name in (b"From", b"Date")
}
LIST_LINE = re.compile(rb'^\((?P<flags>[^)]*)\) (?:"[^"]*"|NIL) (?P<name>.+)$')
T = TypeVar("T")


class BenchError(Exception):
    """A precondition is missing: one line for the user, exit status 2."""


# -- the corpus -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    raw: bytes  # CRLF line ends, ready to APPEND
    date: datetime | None  # its Date header, used as INTERNALDATE


@dataclass
class Corpus:
    folders: dict[str, list[Message]] = field(default_factory=dict)  # IMAP name -> messages
    addresses: tuple[str, ...] = ()
    mbox_files: int = 0
    mbox_bytes: int = 0
    total: int = 0  # messages in the mbox files, loaded or not (--limit)

    @property
    def count(self) -> int:
        return sum(len(messages) for messages in self.folders.values())


def folder_name(member: str) -> tuple[str, bool]:
    """`enron.<user>.<folder>[.<sub>]` -> (`<user>/<folder>[/<sub>]`, is a sent folder)."""
    _enron, user, *parts = Path(member).name.split(".")
    sent = len(parts) == 1 and parts[0] in SENT_FOLDERS
    if sent:
        parts = [SENT_FOLDERS[parts[0]]]
    return "/".join([user, *parts]), sent


def split_mbox(data: bytes) -> Iterator[bytes]:
    """The messages of an mbox, CRLF. ">From " stays escaped: mboxo cannot be undone safely."""
    for chunk in MBOX_FROM_LINE.split(data)[1:]:
        # The blank line before the next "From " line belongs to the mbox, not the message.
        body = chunk[:-1] if chunk.endswith(b"\n\n") else chunk
        if body.strip():
            yield LINE_END.sub(b"\r\n", body)


def header(raw: bytes, name: bytes) -> str:
    head = raw.split(b"\r\n\r\n", 1)[0]
    match = HEADER_LINE[name].search(head)
    return match.group(1).decode("latin-1").strip() if match else ""


def internal_date(raw: bytes) -> datetime | None:
    try:
        date = parsedate_to_datetime(header(raw, b"Date"))
    except (TypeError, ValueError):
        return None
    # imapclient reads a naive datetime as local time; "-0000" dates come back naive.
    return date if date.tzinfo else date.replace(tzinfo=UTC)


def own_addresses(sent: dict[str, list[bytes]]) -> tuple[str, ...]:
    """Per Enron user, the commonest From address in their sent folders: their own."""
    found = []
    for user in sorted(sent):
        senders = Counter(parseaddr(header(raw, b"From"))[1].lower() for raw in sent[user])
        senders.pop("", None)
        if senders:
            found.append(senders.most_common(1)[0][0])
    return tuple(found)


def load_corpus(path: Path, limit: int | None) -> Corpus:
    corpus = Corpus()
    sent: dict[str, list[bytes]] = {}
    budget = limit if limit is not None else sys.maxsize
    with tarfile.open(path, "r:xz") as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name)
        for member in members:
            source = tar.extractfile(member)
            if source is None or not Path(member.name).name.startswith("enron."):
                continue
            data = source.read()
            corpus.mbox_files += 1
            corpus.mbox_bytes += len(data)
            name, is_sent = folder_name(member.name)
            raws = list(split_mbox(data))
            corpus.total += len(raws)
            if is_sent:
                # From all mail, even beyond --limit: the addresses must not depend on it.
                sent.setdefault(name.split("/")[0], []).extend(raws)
            taken = raws[: max(budget, 0)]
            budget -= len(taken)
            if taken:
                corpus.folders[name] = [Message(raw, internal_date(raw)) for raw in taken]
    corpus.addresses = own_addresses(sent)
    return corpus


def seed(server: DovecotServer, user: MailUser, corpus: Corpus) -> None:
    for name, messages in corpus.folders.items():
        items = [(m.raw, m.date) if m.date else m.raw for m in messages]
        uids = server.append_many(user, name, items)
        if len(uids) != len(messages):
            raise BenchError(f"{name}: appended {len(messages)}, server took {len(uids)}")


# -- the five measurements ------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where and how every measured client connects, so all of them do the same."""

    host: str
    port: int
    user: str
    password: str
    tls: bool
    ca_file: Path

    def account(self, addresses: tuple[str, ...]) -> Account:
        return Account(
            name=ACCOUNT,
            addresses=addresses,
            host=self.host,
            port=self.port,
            security="starttls" if self.tls else "none",
            username=self.user,
            ca_file=self.ca_file,
            timeout_seconds=300.0,
        )

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))


@dataclass(frozen=True)
class ColdResult:
    seconds: float
    stored: int
    from_me: int
    problems: int


def cold_sync(account: Account, password: str, path: Path) -> ColdResult:
    """(a) A first sync into a fresh store at `path`, timed from opening the store."""
    began = time.perf_counter()
    store = Store.open(path)
    try:
        report = sync_imap_account(account, Secret(password, "bench"), store, lookback_days=0)
        seconds = time.perf_counter() - began
        summary = store.summary()
    finally:
        store.close()
    return ColdResult(
        seconds,
        stored=sum(s.messages for s in summary),
        from_me=sum(s.from_me or 0 for s in summary),
        problems=report.problems,
    )


def idle_poll(account: Account, password: str, path: Path) -> float:
    """(c) Another sync of the same store: nothing new on the server."""
    with Store.open(path) as store:
        began = time.perf_counter()
        report = sync_imap_account(account, Secret(password, "bench"), store, lookback_days=0)
        seconds = time.perf_counter() - began
    if report.new or report.removed or report.flag_changes:
        raise BenchError(f"the idle poll found changes: {report}")
    return seconds


def open_imaplib(target: Target) -> imaplib.IMAP4:
    imap = imaplib.IMAP4(target.host, target.port, timeout=300)
    if target.tls:
        imap.starttls(ssl_context=target.context())
    imap.login(target.user, target.password)
    return imap


def quoted(name: str) -> str:
    # imaplib sends arguments as they are; folder names here have spaces.
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def floor_fetch(target: Target, folders: Sequence[str], items: str) -> int:
    """(b) The transfer floor: the sync's fetch items, read by imaplib and left unparsed."""
    imap = open_imaplib(target)
    fetched = 0
    try:
        for folder in folders:
            _typ, exists = imap.select(quoted(folder), readonly=True)
            if exists[0] in (b"0", None):
                continue  # "1:*" on an empty folder is an error for some servers
            typ, data = imap.uid("FETCH", "1:*", items)
            if typ != "OK":
                raise BenchError(f"UID FETCH in {folder}: {data!r}")
            fetched += sum(isinstance(item, tuple) for item in data)
    finally:
        imap.logout()
    return fetched


def selectable(list_lines: Sequence[object]) -> list[str]:
    """Names of the folders a LIST answer shows as selectable."""
    names = []
    for line in list_lines:
        if isinstance(line, tuple):  # the name came as a literal after the flags
            match, name = LIST_LINE.match(line[0]), line[1]
        elif isinstance(line, bytes):
            match = LIST_LINE.match(line)
            name = match.group("name").strip(b'"') if match else b""
        else:
            continue
        if match is None:
            raise BenchError(f"cannot read the LIST line {line!r}")
        flags = match.group("flags").lower()
        if b"\\noselect" not in flags and b"\\nonexistent" not in flags:
            names.append(name.decode())
    return names


def status_poll(target: Target) -> int:
    """(d) The obvious idle poll: LIST, then one STATUS per folder, on one login."""
    imap = open_imaplib(target)
    try:
        _typ, lines = imap.list('""', "*")
        names = selectable(lines)
        for name in names:
            typ, data = imap.status(quoted(name), STATUS_ITEMS)
            if typ != "OK":
                raise BenchError(f"STATUS {name}: {data!r}")
    finally:
        imap.logout()
    return len(names)


def naive_fetch(target: Target, folders: Sequence[str]) -> int:
    """(e) ENVELOPE + BODYSTRUCTURE + FLAGS through imapclient, 1000 UIDs per FETCH."""
    client = IMAPClient(target.host, port=target.port, ssl=False, timeout=300)
    fetched = 0
    try:
        if target.tls:
            client.starttls(target.context())
        client.login(target.user, target.password)
        for folder in folders:
            if not client.select_folder(folder, readonly=True)[b"EXISTS"]:
                continue
            uids = client.search("ALL")
            for start in range(0, len(uids), NAIVE_CHUNK):
                chunk = uids[start : start + NAIVE_CHUNK]
                fetched += len(client.fetch(chunk, ["ENVELOPE", "BODYSTRUCTURE", "FLAGS"]))
    finally:
        client.logout()
    return fetched


def peak_rss_child(account: Account, password: str, path: Path) -> tuple[ColdResult, int]:
    """Runs in a fresh interpreter: a cold sync and the process's own peak RSS (KB)."""
    result = cold_sync(account, password, path)
    # RUSAGE_SELF in the child = that one process, not other children (openssl, dovecot).
    return result, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_peak_rss(account: Account, password: str, path: Path) -> tuple[ColdResult, int]:
    # spawn, not fork: a forked child would share (and count) the loaded corpus.
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(peak_rss_child, account, password, path).result()


def sync_plan(target: Target, account: Account, scratch: Path) -> tuple[str, list[str]]:
    """The sync's own fetch items and folder choice, so (b) and (e) read the same mail."""
    with (
        connect(account, Secret(target.password, "bench")) as client,
        Store.open(scratch / "plan.sqlite3") as store,
    ):
        sync = ImapSync(client, store, account, lookback_days=0, now=datetime.now(UTC))
        folders = [f.name for f in choose_folders(list_folders(client), account)]
        return sync.fetch_items, folders


# -- running and reporting ------------------------------------------------------------------


@dataclass
class Figures:
    cold: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    idle: list[float] = field(default_factory=list)
    status: list[float] = field(default_factory=list)
    naive: list[float] = field(default_factory=list)
    last_cold: ColdResult | None = None
    status_folders: int = 0


def timed(function: Callable[[], T]) -> tuple[float, T]:
    began = time.perf_counter()
    value = function()
    return time.perf_counter() - began, value


def run_once(
    figures: Figures, target: Target, account: Account, plan: tuple[str, list[str]], store: Path
) -> None:
    """One of each; interleaved so that drift in the machine's speed hits all alike."""
    items, folders = plan
    seconds, floor_count = timed(lambda: floor_fetch(target, folders, items))
    figures.floor.append(seconds)
    cold = figures.last_cold = cold_sync(account, target.password, store)
    figures.cold.append(cold.seconds)
    figures.idle.append(idle_poll(account, target.password, store))
    seconds, figures.status_folders = timed(lambda: status_poll(target))
    figures.status.append(seconds)
    seconds, naive_count = timed(lambda: naive_fetch(target, folders))
    figures.naive.append(seconds)
    # All three must have read the same messages, or the ratios mean nothing.
    if not floor_count == naive_count == cold.stored:
        raise BenchError(
            f"messages read differ: floor {floor_count}, imapclient {naive_count}, "
            f"sync stored {cold.stored}"
        )


def seconds_text(values: Sequence[float]) -> str:
    each = " ".join(f"{v:.3f}" for v in values)
    return f"{statistics.median(values):8.3f} s  [{each}]"


def ratio_line(
    label: str, top: list[float], bottom: list[float], target: str, ok: Callable[[float], bool]
) -> str:
    ratio = statistics.median(top) / statistics.median(bottom)
    return f"{label:<6}{ratio:6.2f}   target {target:<7} {'ok' if ok(ratio) else 'MISSED'}"


def report(figures: Figures, folders: int, rss_kb: int) -> None:
    cold = figures.last_cold
    assert cold is not None
    median_cold = statistics.median(figures.cold)
    rows = [
        ("(a) cold watcher sync", figures.cold),
        ("(b) floor: imaplib UID FETCH", figures.floor),
        ("(c) idle poll (watcher)", figures.idle),
        (f"(d) imaplib LIST + {figures.status_folders} STATUS", figures.status),
        ("(e) imapclient ENVELOPE fetch", figures.naive),
    ]
    for label, values in rows:
        print(f"{label:<31}{seconds_text(values)}")
    print(
        f"stored {cold.stored} messages from {folders} folders, {cold.stored / median_cold:,.0f}"
        f" msg/s; {cold.from_me} from me; {cold.problems} with parse problems"
    )
    print(ratio_line("a/b", figures.cold, figures.floor, "<= 2", lambda r: r <= 2))
    print(ratio_line("a/e", figures.cold, figures.naive, "< 0.5", lambda r: r < 0.5))
    print(ratio_line("c/d", figures.idle, figures.status, "<= 2", lambda r: r <= 2))
    verdict = "ok" if rss_kb < 200 * 1024 else "MISSED"
    megabytes = rss_kb / 1024  # ru_maxrss is in KB on Linux
    print(f"peak RSS of a cold sync (child): {megabytes:.0f} MB   target < 200 MB {verdict}")


def problem_reasons(path: Path, top: int = 5) -> list[tuple[str, int]]:
    """The commonest parse problems in a synced store, to tell a real bug from odd mail."""
    reasons: Counter[str] = Counter()
    with Store.open(path) as store:
        for facts in store.messages(ACCOUNT):
            reasons.update(problem.split(":")[0][:80] for problem in facts.parse_problems)
    return reasons.most_common(top)


def profile_cold_sync(account: Account, password: str, path: Path) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    result = cold_sync(account, password, path)
    profiler.disable()
    print(f"\n--- cProfile of one cold sync ({result.seconds:.2f} s under the profiler) ---")
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
    for order in ("cumulative", "tottime"):
        print(f"top 25 by {order}:")
        stats.sort_stats(order).print_stats(25)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="timed runs; medians (default 3)")
    parser.add_argument("--profile", action="store_true", help="also cProfile one cold sync")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the Dovecot dir in DIR")
    parser.add_argument("--limit", type=int, metavar="N", help="load only the first N messages")
    parser.add_argument("--tls", action="store_true", help="STARTTLS on every connection")
    args = parser.parse_args(argv)
    if args.runs < 1 or (args.limit is not None and args.limit < 1):
        parser.error("--runs and --limit must be at least 1")
    return args


def step(text: str) -> None:
    print(text, flush=True)


def bench(args: argparse.Namespace) -> None:
    if not CORPUS.is_file():
        raise BenchError(f"the Enron sample is missing: {CORPUS} (see shared/corpus/README.md)")
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    # Started before the corpus is read, so a missing Dovecot fails within a second.
    server = DovecotServer.start(args.keep)
    try:
        run_bench(args, server)
    finally:
        server.stop(remove=args.keep is None)
        if args.keep is not None:
            step(f"kept the Dovecot dir (and the stores in it): {server.directory}")


def run_bench(args: argparse.Namespace, server: DovecotServer) -> None:
    began = time.perf_counter()
    corpus = load_corpus(CORPUS, args.limit)
    step(
        f"Enron sample: {corpus.count} of {corpus.total} messages, {corpus.mbox_files} mbox files "
        f"({corpus.mbox_bytes / 1e6:.1f} MB) read in {time.perf_counter() - began:.1f} s"
    )
    step(
        f"own addresses (commonest From in each user's sent folders): {', '.join(corpus.addresses)}"
    )
    user = server.add_user("enron")
    began = time.perf_counter()
    seed(server, user, corpus)
    step(f"appended into {len(corpus.folders)} folders in {time.perf_counter() - began:.1f} s")
    target = Target(server.host, server.port, user.name, user.password, args.tls, server.ca_file)
    account = target.account(corpus.addresses)
    stores = server.directory / "stores"
    stores.mkdir()
    plan = sync_plan(target, account, stores)
    step(f"the sync reads {len(plan[1])} folders with {plan[0]}")
    floor_fetch(target, plan[1], plan[0])  # untimed: Dovecot fills its cache on first fetch
    rss_result, rss_kb = measure_peak_rss(account, target.password, stores / "rss.sqlite3")
    step(f"cold sync in a child process: {rss_result.seconds:.3f} s, {rss_result.stored} stored")
    figures = Figures()
    for run in range(1, args.runs + 1):
        run_once(figures, target, account, plan, stores / f"run{run}.sqlite3")
        step(f"run {run}/{args.runs} done")
    transport = "STARTTLS" if args.tls else "plain IMAP, no TLS"
    step(f"\nmedians of {args.runs} runs [each run], Dovecot on {server.host} ({transport}):")
    report(figures, len(plan[1]), rss_kb)
    reasons = problem_reasons(stores / f"run{args.runs}.sqlite3")
    if reasons:
        step("commonest parse problems: " + "; ".join(f"{n}x {r}" for r, n in reasons))
    if args.profile:
        profile_cold_sync(account, target.password, stores / "profile.sqlite3")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        bench(args)
    except (BenchError, DovecotUnavailable) as exc:
        print(f"bench/sync.py: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
