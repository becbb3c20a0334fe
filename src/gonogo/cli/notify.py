"""``gonogo notify test --config F``: one test message to each ``[[notify]]`` target.

One line per target on stdout — its name (never its URL), kind, OK or FAILED, what it
answered and how long it took. Exit codes: 0 every target answered 2xx, 1 one did not,
2 bad usage or config (including a config without targets).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from gonogo.cli import exits
from gonogo.cli.common import err, load_or_report
from gonogo.untrusted import printable as p


def run_notify(args: argparse.Namespace) -> int:
    if args.notify_command != "test":  # argparse allows only "test"; kept for new actions
        err(f"unknown notify action {args.notify_command!r}")
        return exits.USAGE
    plan = load_or_report(args.config)
    if plan is None:
        return exits.USAGE
    if not plan.notify:
        err(f"{args.config}: no [[notify]] targets to test")
        return exits.USAGE
    from gonogo.notify import send_test
    from gonogo.rollout.engine import default_actor

    results = asyncio.run(send_test(plan, default_actor(plan, getattr(args, "actor", None))))
    failed = 0
    for courier, answer in results:
        verdict = "OK" if answer.ok else "FAILED"
        failed += not answer.ok
        print(f"{p(courier.name)} ({courier.kind}): {verdict} - {p(answer.detail)} "
              f"({answer.elapsed_s * 1000:.0f} ms)", flush=True)
    total = len(results)
    print(f"gonogo: {total - failed} of {total} notify target{'s' if total != 1 else ''} answered"
          + (f"; {failed} FAILED" if failed else ""), file=sys.stderr)
    return exits.NOGO if failed else exits.OK
