"""A wall-clock timeline of ``gonogo tui`` starting (a profiling aid, not a figure):
``python bench/timeline.py OUT -- tui --config F ...`` runs the CLI in this process,
marks when each start-up step ends and when each write reaches the terminal, quits
after 4 s and writes the marks to OUT. Run it in a terminal (tmux)."""

from __future__ import annotations

import functools
import sys
import time
from typing import Any

T0 = time.perf_counter()
marks: list[tuple[float, str]] = []


def mark(what: str) -> None:
    marks.append((time.perf_counter() - T0, what))


def wrap(owner: Any, name: str, label: str) -> None:
    inner = getattr(owner, name)

    @functools.wraps(inner)
    def timed(*args: Any, **kwargs: Any) -> Any:
        mark(f"{label} starts")
        try:
            return inner(*args, **kwargs)
        finally:
            mark(f"{label} ends")

    setattr(owner, name, timed)


def summarise(frame: Any, fh: Any, depth: int = 0, floor: float = 0.012) -> None:
    """Frames of at least ``floor`` seconds, in time order, chains collapsed."""
    while True:
        kids = [k for k in frame.children if k.time >= floor]
        if len(kids) == 1 and kids[0].time > frame.time - floor:
            frame = kids[0]  # a chain: show only where it branches
            continue
        break
    where = f"{frame.file_path_short or ''}:{frame.line_no or ''}"
    fh.write(f"{'  ' * depth}{frame.time * 1000:6.0f} ms  {frame.function}  {where}\n")
    for kid in frame.children:
        if kid.time >= floor:
            summarise(kid, fh, depth + 1, floor)


def main() -> None:
    out = sys.argv[1]
    argv = sys.argv[sys.argv.index("--") + 1:]
    import gonogo.cli as cli
    mark("import gonogo.cli")
    import gonogo.cli.session as session
    import gonogo.cli.tui as tui
    mark("import gonogo.cli.tui")
    wrap(tui, "load_or_report", "load config")
    wrap(tui, "open_session", "open session")
    import textual.app
    mark("import textual.app")
    from textual.drivers.linux_driver import LinuxDriver
    writes = 0

    original_write = LinuxDriver.write

    import cProfile
    import os
    profile_to = os.environ.get("TIMELINE_PROFILE")  # profile App.run to the first full frame
    profiler = cProfile.Profile() if profile_to else None
    big = 0
    sample_to = os.environ.get("TIMELINE_SAMPLE")  # pyinstrument, App.run to the first frame
    sampler = None
    if sample_to:
        from pyinstrument import Profiler

        sampler = Profiler(interval=0.001, async_mode="disabled")

    def write(self: Any, data: str) -> None:
        nonlocal writes, big
        writes += 1
        size = len(data.encode())
        mark(f"write #{writes}: {size} bytes")
        big += size > 2000
        if big == 1 and size > 2000 and os.environ.get("TIMELINE_MODULES"):
            with open(os.environ["TIMELINE_MODULES"], "w") as fh:
                fh.write("\n".join(sorted(k for k, v in sys.modules.items() if v is not None)))
        if profiler is not None and big == 3:
            profiler.disable()
            profiler.dump_stats(profile_to)
        if sampler is not None and size > 5000 and sampler.is_running:
            sampler.stop()
            with open(sample_to, "w") as fh:
                root = sampler.last_session.root_frame() if sampler.last_session else None
                if root is not None:
                    summarise(root, fh)
        original_write(self, data)

    LinuxDriver.write = write  # type: ignore[method-assign]
    original_run = textual.app.App.run

    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        mark("App.run")
        if profiler is not None:
            profiler.enable()
        if sampler is not None:
            sampler.start()
        async def later() -> None:
            import asyncio
            await asyncio.sleep(4.0)
            self.exit(0)

        self.call_later(lambda: self.run_worker(later()))
        return original_run(self, *args, **kwargs)

    textual.app.App.run = run  # type: ignore[method-assign]
    if os.environ.get("TIMELINE_DETAIL"):  # textual's own steps
        import textual.screen
        import textual.widget
        from textual.css.stylesheet import Stylesheet

        wrap(textual.screen.Screen, "_refresh_layout", "screen layout")
        wrap(textual.screen.Screen, "_on_resize", "screen resize")
        wrap(textual.app.App, "_on_resize", "app resize")
        wrap(Stylesheet, "parse", "stylesheet parse")
        wrap(Stylesheet, "update_nodes", "stylesheet update_nodes")
        try:
            from gonogo.screens import dashboard

            import gonogo.app as gapp

            wrap(gapp.GonogoApp, "on_mount", "GonogoApp.on_mount")
            wrap(dashboard.DashboardScreen, "compose", "Dashboard.compose")
            wrap(dashboard.DashboardScreen, "on_mount", "Dashboard.on_mount")
        except ImportError:
            pass
    del session
    try:
        if argv == ["bare"]:
            sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
            from bare_app import Bare
            mark("import bare_app")
            Bare().run()
        else:
            cli.main(argv)
    except SystemExit:
        pass
    with open(out, "w") as fh:
        for at, what in marks:
            fh.write(f"{at * 1000:8.1f} ms  {what}\n")


if __name__ == "__main__":
    main()
