"""How does conversation building scale when many messages share one subject?

Contact forms, ticket systems and spam waves send thousands of messages with one subject
from distinct people within the subject window. Each shape below is timed at several sizes
next to a baseline of the same number of messages with distinct subjects (the ratio is what
to read: near 1 and flat across sizes means linear), in the same process and run:

- distinct: one subject, a distinct sender per message, no threading headers (issue 16);
- tickets: one subject, one shared sender, each with its own In-Reply-To (new matters that
  share a person: every message is a candidate for every open conversation);
- form: one subject, one shared sender, no headers (all one conversation that keeps growing).

Run from the repo root (a full run at 64,000 takes a few seconds after the fix):

    .venv/bin/python bench/conversations.py [--sizes 4000 16000 64000] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from watcher.analysis.conversations import build_conversations
from watcher.model import MessageFacts, StoredMessage

T0 = 1_790_000_000
WINDOW = 45 * 86_400
ME = "me@studio.example"

Shape = Callable[[int], list[StoredMessage]]


def _copy(n: int, *, subject: str, sender: str, count: int, reply_to: str = "") -> StoredMessage:
    facts = MessageFacts(
        key=str(n),
        message_id=f"<{n}@bench>",
        in_reply_to=reply_to,
        from_=(("", sender),),
        # A second recipient per message, so that two in one minute are never taken for
        # copies of one message (the content dedupe): every message stays a message.
        to=(("", ME), ("", f"case-{n}@{sender.partition('@')[2]}")),
        subject=subject,
        date=T0 + n * (WINDOW - 86_400) // count,  # all within one window
    )
    return StoredMessage("bench", "INBOX", "", facts)


def _mine() -> StoredMessage:
    # One message of mine, so that my address is known (and left out of "people").
    facts = MessageFacts(
        key="mine",
        message_id="<mine@bench>",
        from_=(("", ME),),
        to=(("", "someone@client.example"),),
        subject="Proposal",
        date=T0,
        is_from_me=True,
    )
    return StoredMessage("bench", "Sent", "\\Sent", facts)


def baseline(count: int) -> list[StoredMessage]:
    return [_mine()] + [
        _copy(n, subject=f"Enquiry {n}", sender=f"p{n}@web.example", count=count)
        for n in range(count)
    ]


def distinct(count: int) -> list[StoredMessage]:
    return [_mine()] + [
        _copy(n, subject="Website enquiry", sender=f"p{n}@web.example", count=count)
        for n in range(count)
    ]


def tickets(count: int) -> list[StoredMessage]:
    return [_mine()] + [
        _copy(
            n,
            subject="Your ticket",
            sender="tickets@vendor.example",
            count=count,
            reply_to=f"<ticket-{n}@vendor>",
        )
        for n in range(count)
    ]


def form(count: int) -> list[StoredMessage]:
    return [_mine()] + [
        _copy(n, subject="New form entry", sender="noreply@site.example", count=count)
        for n in range(count)
    ]


def timed(shape: Shape, count: int, runs: int) -> tuple[float, int]:
    copies = shape(count)
    seconds, found = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        found = len(build_conversations(copies))
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4000, 16000, 64000])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per size; medians")
    parser.add_argument("--shapes", nargs="+", default=["distinct", "tickets", "form"])
    args = parser.parse_args(argv)
    shapes: dict[str, Shape] = {"distinct": distinct, "tickets": tickets, "form": form}
    print(f"{'shape':<10} {'messages':>9} {'seconds':>9} {'baseline':>9} {'ratio':>7}  threads")
    for count in args.sizes:
        base, _ = timed(baseline, count, args.runs)
        for name in args.shapes:
            seconds, found = timed(shapes[name], count, args.runs)
            print(
                f"{name:<10} {count:>9,} {seconds:>9.3f} {base:>9.3f} {seconds / base:>7.1f}"
                f"  {found:,}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
