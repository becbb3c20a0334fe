"""``gonogo sandbox [--scenario NAME] [--speed X] [--config F]``: the fleet in the foreground.

Prints ``sandbox ready`` once everything listens, then waits; SIGINT/SIGTERM stop it
cleanly (exit 0). An unknown scenario or a bad speed is a usage error (exit 2); a
port already in use or an unreadable config exits 1 with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def run_sandbox(args: argparse.Namespace) -> int:
    from gonogo.sandbox.state import UnknownScenario, check_scenario, check_speed

    try:
        check_scenario(args.scenario)
        check_speed(args.speed)
    except UnknownScenario as exc:
        print(f"gonogo sandbox: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        print(f"gonogo sandbox: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    from gonogo.sandbox.fleet import Fleet, FleetError

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    fleet = Fleet(scenario=args.scenario, speed=args.speed, config_path=getattr(args, "config", None))
    try:
        await fleet.start()
    except FleetError as exc:
        print(f"gonogo sandbox: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        layout = fleet.layout
        assert layout is not None
        for note in fleet.notes:
            print(f"note: {note}", file=sys.stderr)
        print(
            f"gateway {layout.gateway.url}  admin {layout.admin.url}  "
            f"{len(layout.services)} services  scenario {args.scenario}  speed {args.speed:g}x",
            file=sys.stderr,
        )
        print(f"secrets and env files in {fleet.runtime_dir}", file=sys.stderr)
        print("sandbox ready", flush=True)
        await stop.wait()
    finally:
        await fleet.stop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)
    print("sandbox stopped", file=sys.stderr)
    return EXIT_OK
