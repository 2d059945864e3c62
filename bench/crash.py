"""Crash consistency: `kill -9` the watcher at random moments, run it again, check the result.

Two experiments against a private Dovecot (tests/dovecot.py) and a loopback SMTP server that
delivers into the user's Dovecot INBOX like an MTA (tests/smtpserver.py):

1. `watcher sync` of a mailbox of a few thousand messages (INBOX, Archive, Sent; varied flags
   and keywords) into a fresh store, killed with SIGKILL after a random delay (in turn: drawn
   over the whole reference run; counted from the moment the store file appears; counted
   from the moment the first batch is stored); then `watcher sync` again to completion.
   Checked: `PRAGMA integrity_check` (right after the kill, and after the re-run), and that
   the (folder, uid, message_id, flags) set equals that of a reference store synced without
   interruption, with one row per message (nothing lost, nothing doubled).
2. `watcher digest --send` for a freshly synced demo mailbox, killed after a random delay
   (in turn: drawn over the whole reference run; counted from the moment the digest is
   recorded pending; counted from the moment the SMTP server has delivered it); then
   `watcher digest --send` again until it settles. A digest killed after it was recorded
   pending but before the server took it makes the next run wait (`IN_FLIGHT`, 10 min, for
   mail that may still be on its way): that wait is simulated by moving the record's
   created_at back by `IN_FLIGHT`, and the run repeated. Checked: exactly one digest for the
   day in the INBOX (searched by its `X-Followup-Watcher` header), one received by the SMTP
   server, the store sound and the digest recorded as sent.

Run from the repo root (needs the Debian package dovecot-imapd):

    /tmp/venv/bin/python bench/crash.py [--sync-runs 20] [--digest-runs 20]
                                        [--messages 3000] [--seed N] [--keep DIR]

`tests/test_faults.py` runs a short version (5 runs each) as a slow test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import email.utils
import functools
import logging
import random
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from aiosmtpd.controller import Controller

REPO = Path(__file__).resolve().parent.parent
# The Dovecot and SMTP fixtures live with the tests; they are plain modules, not a package.
sys.path.insert(0, str(REPO / "tests"))
from configs import write_digest_config as write_config  # noqa: E402
from demomailbox import NOW, seed_demo  # noqa: E402
from dovecot import DovecotServer, DovecotUnavailable, MailUser  # noqa: E402
from smtpserver import InboxDelivery, digests_in_inbox, inbox_smtp_server  # noqa: E402
from watcherproc import finish, watcher  # noqa: E402

from watcher.digest.send import IN_FLIGHT  # noqa: E402
from watcher.store.migrations import MIGRATIONS  # noqa: E402

SYNC_NOW = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)
ME = "maya@lindqvist-studio.example"  # the account's address in write_config()
Say = Callable[[str], None]
Fact = tuple[str, int, str, str]


def _quiet(_line: str) -> None:
    pass


# -- the mailbox ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BulkMailbox:
    user: MailUser
    folders: dict[str, int]  # folder -> messages appended

    @property
    def total(self) -> int:
        return sum(self.folders.values())


def _message(number: int, tag: str, *, sent: bool) -> bytes:
    when = email.utils.format_datetime(SYNC_NOW - dt.timedelta(minutes=7 * number))
    sender, to = (ME, "Client <client@acme.example>") if sent else ("ana@acme.example", ME)
    subject = f"Proposal {number}" if sent else f"note {number}"
    body = (
        f"Hi,\r\n\r\nplease find our proposal {number}. Total: EUR {number * 10},00.\r\n"
        if sent
        else f"Hello, this is note {number}.\r\n"
    )
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {when}\r\n"
        f"Message-ID: <crash-{tag}-{number}@acme.example>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()


def seed_bulk(server: DovecotServer, inbox: int = 3000) -> BulkMailbox:
    """A new user: `inbox` messages in INBOX, a tenth in Archive, a tenth sent by the user;
    some `\\Seen`, some `\\Flagged`, some with a follow-up keyword."""
    user = server.add_user()
    tag = secrets.token_hex(4)
    plan = {"INBOX": inbox, "Archive": max(1, inbox // 10), "Sent": max(1, inbox // 10)}
    number = 0
    for folder, count in plan.items():
        groups: dict[tuple[str, ...], list[bytes]] = {}
        for _ in range(count):
            number += 1
            flags: tuple[str, ...] = ()
            if number % 3:
                flags += ("\\Seen",)
            if number % 11 == 0:
                flags += ("\\Flagged",)
            if folder == "Sent" and number % 5 == 0:
                flags += ("followup-10d",)
            message = _message(number, tag, sent=folder == "Sent")
            groups.setdefault(flags, []).append(message)
        for flags, messages in groups.items():
            server.append_many(user, folder, messages, flags=flags)
    return BulkMailbox(user, plan)


# -- looking into a store without changing it (no migrations, no writes) -------------------


def _inspect(path: Path) -> tuple[bool, int, list[Fact]]:
    """(integrity ok, rows, facts) of the store at `path`, as a crash left it."""
    if not path.exists():
        return True, 0, []
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
        ok = db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        try:
            rows = db.execute("SELECT folder, uid, message_id, flags FROM messages").fetchall()
        except sqlite3.OperationalError:  # killed before the first migration committed
            rows = []
    facts = [
        (folder, uid, mid, " ".join(sorted(flags.split()))) for folder, uid, mid, flags in rows
    ]
    return ok, len(rows), facts


def _migrations(path: Path) -> int:
    """How many store migrations a crash left applied (-1: no store file yet)."""
    if not path.exists():
        return -1
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
        try:
            return int(db.execute("SELECT COUNT(*) FROM migrations").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def _digest_row(path: Path) -> tuple[str, int] | None:
    """(state, created_at) of the store's one digest, None when there is none."""
    if not path.exists():
        return None
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
        try:
            row = db.execute("SELECT state, created_at FROM digests").fetchone()
        except sqlite3.OperationalError:
            return None
    return (str(row[0]), int(row[1])) if row else None


# -- killing at a moment ----------------------------------------------------------------------


POLL = 0.002  # seconds between looks at the store or the SMTP server during a run


def _wait_for(
    condition: Callable[[], bool], process: subprocess.Popen[str], poll: float = POLL
) -> bool:
    """Poll `condition` until it holds (True) or the process ends (False)."""
    while process.poll() is None:
        if condition():
            return True
        time.sleep(poll)
    return False


def _kill(process: subprocess.Popen[str], began: float) -> tuple[float, bool]:
    """SIGKILL now: (ms since the start, whether it had finished already)."""
    finished = process.poll() is not None
    elapsed = (time.monotonic() - began) * 1000
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    return elapsed, finished


def _stored_now(path: Path) -> int:
    """Rows in the store while a sync writes it (0 until it is a WAL store with a table)."""
    if not Path(f"{path}-wal").exists():
        return 0  # not yet in WAL mode: do not get in the way of the switch
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
        try:
            return int(db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def _has_rows(path: Path) -> bool:
    return _stored_now(path) > 0


def _has_digest(path: Path) -> bool:
    return _digest_row(path) is not None


def _received_more(handler: InboxDelivery, before: int) -> bool:
    return len(handler.received) > before


# -- 1. kill -9 during a sync ---------------------------------------------------------------


@dataclasses.dataclass
class SyncRun:
    number: int
    aimed: str  # "any moment", "store creation" or "while storing"
    killed_ms: float  # since the process started
    finished_first: bool  # the sync was done before the kill came
    migrations_at_kill: int  # -1: no store file yet
    stored_at_kill: int
    integrity_at_kill: bool
    rerun_code: int
    integrity_after: bool
    rows_after: int
    missing: int  # reference facts not in the store after the re-run
    extra: int  # facts in the store that the reference lacks
    doubled: int  # rows beyond one per (folder, uid)

    @property
    def good(self) -> bool:
        return (
            self.integrity_at_kill
            and self.integrity_after
            and self.rerun_code == 0
            and not (self.missing or self.extra or self.doubled)
        )

    def line(self) -> str:
        state = " (had finished)" if self.finished_first else ""
        if self.migrations_at_kill < 0:
            store = "no store yet"
        elif self.migrations_at_kill < len(MIGRATIONS):
            store = f"{self.migrations_at_kill}/{len(MIGRATIONS)} migrations"
        else:
            store = "store ready"
        verdict = "nothing lost, nothing doubled" if self.good else "MISMATCH"
        return (
            f"  run {self.number:2d}: killed at {self.killed_ms:5.0f} ms ({self.aimed}): "
            f"{store}, {self.stored_at_kill:4d} stored{state}, integrity "
            f"{'ok' if self.integrity_at_kill else 'FAILED'}; re-run: {self.rows_after} rows, "
            f"{self.missing} missing, {self.extra} extra, {self.doubled} doubled, integrity "
            f"{'ok' if self.integrity_after else 'FAILED'}: {verdict}"
        )


@dataclasses.dataclass
class SyncCrashes:
    reference_rows: int
    reference_ms: float
    runs: list[SyncRun]

    @property
    def all_good(self) -> bool:
        return all(run.good for run in self.runs)

    def describe(self) -> str:
        if not self.runs:
            return "  no runs"
        killed = [r for r in self.runs if not r.finished_first]
        stored = sorted(r.stored_at_kill for r in killed)
        partial = sum(0 < s < self.reference_rows for s in stored)
        lines = [
            f"  {len(self.runs)} runs: {len(killed)} killed before the sync ended ({partial} "
            f"with part of the mailbox stored, {stored.count(0)} before the first batch), "
            f"{len(self.runs) - len(killed)} had finished"
        ]
        times = sorted(r.killed_ms for r in self.runs)
        lines.append(f"  killed at {times[0]:.0f}..{times[-1]:.0f} ms after the start")
        if stored:
            lines.append(
                f"  stored at the kill: min {stored[0]}, median {statistics.median(stored):.0f},"
                f" max {stored[-1]} of {self.reference_rows}"
            )
        good = sum(r.good for r in self.runs)
        lines.append(
            f"  converged to the reference ({self.reference_rows} facts), integrity ok, "
            f"nothing lost, nothing doubled: {good}/{len(self.runs)}"
        )
        lines += [r.line() for r in self.runs if not r.good]
        return "\n".join(lines)


def _sync_config(server: DovecotServer, user: MailUser, state: Path) -> Path:
    state.mkdir(parents=True, exist_ok=True)
    return write_config(state / "config.toml", server, user, 1, state)


def _completed(config: Path, user: MailUser, *args: str) -> tuple[int, str, str]:
    return finish(watcher(config, user, *args))


def crash_syncs(
    server: DovecotServer,
    mailbox: BulkMailbox,
    workdir: Path,
    *,
    runs: int,
    rng: random.Random,
    say: Say = _quiet,
) -> SyncCrashes:
    """`runs` syncs of `mailbox` killed at random, each followed by a full sync.

    Runs take turns: killed after a delay drawn over the whole reference run; within 8 ms
    of the store file appearing (creation, migrations); once the first batch is stored,
    after a delay drawn over what the reference run took from there.
    """
    reference = _sync_config(server, mailbox.user, workdir / "reference")
    store = reference.parent / "watcher.sqlite3"
    began = time.monotonic()
    process = watcher(reference, mailbox.user, "sync")
    first_batch = (
        time.monotonic() - began if _wait_for(functools.partial(_has_rows, store), process) else 0.0
    )
    code, _, err = finish(process)
    seconds = time.monotonic() - began
    if code != 0:
        raise RuntimeError(f"the reference sync failed: {err.strip()}")
    ok, rows, facts = _inspect(store)
    wanted = set(facts)
    if not ok or rows != len(wanted) or rows != mailbox.total:
        raise RuntimeError(f"the reference store is off: {rows} rows of {mailbox.total}")
    say(
        f"reference sync: {rows} messages, {seconds * 1000:.0f} ms from process start to "
        f"exit, the first batch stored after {first_batch * 1000:.0f} ms"
    )
    results = SyncCrashes(rows, seconds * 1000, [])
    for number in range(1, runs + 1):
        config = _sync_config(server, mailbox.user, workdir / f"run-{number}")
        store = config.parent / "watcher.sqlite3"
        began = time.monotonic()
        process = watcher(config, mailbox.user, "sync")
        aimed = ("store creation", "any moment", "while storing")[number % 3]
        if aimed == "any moment":
            time.sleep(rng.uniform(0.0, seconds))
        elif aimed == "store creation":
            _wait_for(store.exists, process, poll=0.0002)
            time.sleep(rng.uniform(0.0, 0.008))
        else:
            _wait_for(functools.partial(_has_rows, store), process)
            # (0.85: the tail of the reference run is the process ending, not the sync)
            time.sleep(rng.uniform(0.0, max(0.05, 0.85 * (seconds - first_batch))))
        killed_ms, finished_first = _kill(process, began)
        migrations = _migrations(store)
        ok_at_kill, stored, _ = _inspect(store)
        code, _, err = _completed(config, mailbox.user, "sync")
        ok_after, rows_after, facts_after = _inspect(store)
        got = set(facts_after)
        keys = {(folder, uid) for folder, uid, _, _ in facts_after}
        run = SyncRun(
            number=number,
            aimed=aimed,
            killed_ms=killed_ms,
            finished_first=finished_first,
            migrations_at_kill=migrations,
            stored_at_kill=stored,
            integrity_at_kill=ok_at_kill,
            rerun_code=code,
            integrity_after=ok_after,
            rows_after=rows_after,
            missing=len(wanted - got),
            extra=len(got - wanted),
            doubled=rows_after - len(keys),
        )
        if code != 0:
            say(f"  run {number}: the re-run failed: {err.strip()}")
        results.runs.append(run)
        say(run.line())
    return results


# -- 2. kill -9 during a digest send --------------------------------------------------------


@dataclasses.dataclass
class DigestRun:
    number: int
    aimed: str  # "any moment", "after pending" or "after delivery"
    killed_ms: float  # since the process started
    finished_first: bool
    record_at_kill: str  # the store's digest state at the kill: none, pending, sent
    delivered_at_kill: int  # digests the SMTP server had taken by then
    reruns: list[str]  # what each run after the kill said
    waited: bool  # the in-flight wait was simulated
    in_inbox: int
    received: int
    record_after: str
    integrity_after: bool

    @property
    def good(self) -> bool:
        return (
            self.in_inbox == 1
            and self.received == 1
            and self.record_after == "sent"
            and self.integrity_after
        )

    @property
    def phase(self) -> str:
        if self.finished_first:
            return "after the run had finished"
        if self.record_at_kill == "none":
            return "before anything was recorded"
        if self.record_at_kill == "pending":
            return (
                "pending, the server had taken it"
                if self.delivered_at_kill
                else "pending, not yet taken by the server"
            )
        return f"recorded {self.record_at_kill}"

    def line(self) -> str:
        then = " -> ".join(self.reruns)
        verdict = "exactly one digest" if self.good else "WRONG"
        return (
            f"  run {self.number:2d}: killed at {self.killed_ms:5.0f} ms ({self.aimed}): "
            f"{self.phase}; then: {then}; INBOX {self.in_inbox}, SMTP {self.received}, "
            f"integrity {'ok' if self.integrity_after else 'FAILED'}: {verdict}"
        )


@dataclasses.dataclass
class DigestCrashes:
    reference_ms: float
    runs: list[DigestRun]

    @property
    def all_good(self) -> bool:
        return all(run.good for run in self.runs)

    def describe(self) -> str:
        if not self.runs:
            return "  no runs"
        phases: dict[str, int] = {}
        for run in self.runs:
            phases[run.phase] = phases.get(run.phase, 0) + 1
        good = sum(r.good for r in self.runs)
        lines = [
            f"  {len(self.runs)} runs; killed: "
            + ", ".join(f"{count}x {phase}" for phase, count in phases.items()),
        ]
        times = sorted(r.killed_ms for r in self.runs)
        lines.append(f"  killed at {times[0]:.0f}..{times[-1]:.0f} ms after the start")
        lines += [
            f"  the in-flight wait simulated in {sum(r.waited for r in self.runs)} runs",
            f"  exactly one digest in the INBOX and one received, recorded sent, integrity "
            f"ok: {good}/{len(self.runs)}",
        ]
        lines += [r.line() for r in self.runs if not r.good]
        return "\n".join(lines)


def _settle(controller: Controller) -> None:
    """Let the SMTP server finish what the killed client left (a DATA it had whole)."""
    time.sleep(0.3)
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0), controller.loop).result(timeout=30)


def _fresh_demo(server: DovecotServer, smtp_port: int, state: Path) -> tuple[MailUser, Path]:
    """A new user with the demo mailbox, synced into a new store: ready for its digest."""
    user = server.add_user()
    seed_demo(server, user)
    state.mkdir(parents=True, exist_ok=True)
    config = write_config(state / "config.toml", server, user, smtp_port, state)
    code, _, err = _completed(config, user, "sync")
    if code != 0:
        raise RuntimeError(f"sync of the demo mailbox failed: {err.strip()}")
    return user, config


def _outcome(code: int, out: str, err: str) -> str:
    if code != 0:
        return f"error ({err.strip()})"
    text = out.strip().splitlines()[-1] if out.strip() else ""
    for marker, short in (
        ("digest sent to", "sent"),
        ("was sent already", "already sent"),
        ("had arrived; recorded", "found in the INBOX, recorded"),
        ("may still be on its way", "in flight"),
        ("nothing is due", "nothing due"),
    ):
        if marker in text:
            return short
    return text or "?"


REFERENCE_DIGESTS = 3


def _timed_digest(
    handler: InboxDelivery, user: MailUser, config: Path
) -> tuple[float, float, float]:
    """An uninterrupted send: seconds until recorded pending, delivered, and the exit."""
    store = config.parent / "watcher.sqlite3"
    handler.user = user
    before = len(handler.received)
    began = time.monotonic()
    process = watcher(config, user, "digest", "--send", "--now", NOW)
    _wait_for(functools.partial(_has_digest, store), process)
    pending = time.monotonic() - began
    _wait_for(functools.partial(_received_more, handler, before), process)
    delivered = time.monotonic() - began
    code, _, err = finish(process)
    seconds = time.monotonic() - began
    if code != 0 or len(handler.received) != before + 1:
        raise RuntimeError(f"the reference digest was not sent: {err.strip()}")
    return pending, delivered, seconds


def crash_digests(
    server: DovecotServer,
    controller: Controller,
    handler: InboxDelivery,
    workdir: Path,
    *,
    runs: int,
    rng: random.Random,
    say: Say = _quiet,
) -> DigestCrashes:
    """`runs` digest sends killed at random, each followed by runs until it settles.

    Runs take turns: killed after a delay drawn over the whole reference run; once the
    digest is recorded pending, after a delay drawn over the reference's pending-to-delivered
    time; once the SMTP server has delivered it, within 10 ms (before or after it is recorded
    as sent).
    """
    timings: list[tuple[float, float, float]] = []
    for attempt in range(REFERENCE_DIGESTS):  # the first, cold one is slower: take the median
        user, config = _fresh_demo(server, controller.port, workdir / f"reference-{attempt}")
        timings.append(_timed_digest(handler, user, config))
    pending, delivered, seconds = (statistics.median(t[i] for t in timings) for i in range(3))
    say(
        f"reference digest send (median of {REFERENCE_DIGESTS}): {seconds * 1000:.0f} ms from "
        f"process start to exit; recorded pending after {pending * 1000:.0f} ms, delivered by "
        f"the SMTP server after {delivered * 1000:.0f} ms"
    )
    results = DigestCrashes(seconds * 1000, [])
    for number in range(1, runs + 1):
        user, config = _fresh_demo(server, controller.port, workdir / f"run-{number}")
        store = config.parent / "watcher.sqlite3"
        handler.user = user
        before = len(handler.received)
        began = time.monotonic()
        process = watcher(config, user, "digest", "--send", "--now", NOW)
        aimed = ("after delivery", "any moment", "after pending")[number % 3]
        if aimed == "any moment":
            time.sleep(rng.uniform(0.0, seconds))
        elif aimed == "after pending":
            _wait_for(functools.partial(_has_digest, store), process)
            time.sleep(rng.uniform(0.0, max(0.01, delivered - pending)))
        else:
            _wait_for(functools.partial(_received_more, handler, before), process)
            time.sleep(rng.uniform(0.0, 0.01))
        killed_ms, finished_first = _kill(process, began)
        _settle(controller)
        row = _digest_row(store)
        delivered_at_kill = len(handler.received) - before
        reruns: list[str] = []
        waited = False
        for _attempt in range(3):
            outcome = _outcome(*_completed(config, user, "digest", "--send", "--now", NOW))
            reruns.append(outcome)
            if outcome != "in flight":
                break
            # The next run would wait IN_FLIGHT for mail that may be on its way: let it pass.
            waited = True
            with contextlib.closing(sqlite3.connect(store, timeout=30)) as db, db:
                db.execute("UPDATE digests SET created_at = created_at - ?", (IN_FLIGHT + 1,))
        _settle(controller)
        after = _digest_row(store)
        ok_after, _, _ = _inspect(store)
        run = DigestRun(
            number=number,
            aimed=aimed,
            killed_ms=killed_ms,
            finished_first=finished_first,
            record_at_kill=row[0] if row else "none",
            delivered_at_kill=delivered_at_kill,
            reruns=reruns,
            waited=waited,
            in_inbox=digests_in_inbox(server, user),
            received=len(handler.received) - before,
            record_after=after[0] if after else "none",
            integrity_after=ok_after,
        )
        results.runs.append(run)
        say(run.line())
    return results


@contextlib.contextmanager
def smtp_server(server: DovecotServer) -> Iterator[tuple[Controller, InboxDelivery]]:
    """The tests' SMTP server (STARTTLS, AUTH) on loopback, delivering into Dovecot."""
    with inbox_smtp_server(server, server.add_user()) as running:
        yield running


# -- the script -----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sync-runs", type=int, default=20)
    parser.add_argument("--digest-runs", type=int, default=20)
    parser.add_argument("--messages", type=int, default=3000, help="INBOX size (default 3000)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the stores in DIR")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # aiosmtpd 1.4 logs a warning about its own Session.login_data on every AUTH.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    say = functools.partial(print, flush=True)
    seed = args.seed if args.seed is not None else secrets.randbelow(10**6)
    rng = random.Random(seed)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="watcher-crash-"))
    try:
        with DovecotServer.start() as server, smtp_server(server) as (controller, handler):
            say(f"bench/crash.py: seed {seed}, Dovecot on port {server.port}")
            mailbox = seed_bulk(server, args.messages)
            layout = ", ".join(f"{folder} {count}" for folder, count in mailbox.folders.items())
            say(f"mailbox: {mailbox.total} messages ({layout})")
            say(f"\n1. kill -9 during `watcher sync` ({args.sync_runs} runs)")
            syncs = crash_syncs(
                server, mailbox, workdir / "sync", runs=args.sync_runs, rng=rng, say=say
            )
            say(syncs.describe())
            say(f"\n2. kill -9 during `watcher digest --send` ({args.digest_runs} runs)")
            digests = crash_digests(
                server,
                controller,
                handler,
                workdir / "digest",
                runs=args.digest_runs,
                rng=rng,
                say=say,
            )
            say(digests.describe())
    except DovecotUnavailable as exc:
        print(f"bench/crash.py: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    good = syncs.all_good and digests.all_good
    say("\nOK: nothing lost, nothing doubled, one digest" if good else "\nFAILED (see above)")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
