"""``gonogo serve``: the panel in a browser, for someone who cannot SSH in.

``gonogo serve --config F --session DIR [--store DSN] [--host H] [--port N] [--drive]
[--token-ref REF] [--actor NAME] [--public-url URL]``

textual-serve (``textual_serve.server.Server``) runs one process per browser page,
the command line ``served_command`` builds: ``gonogo watch`` (read-only, following the
session) unless ``--drive`` serves the driving panel (``gonogo tui``), and it relays
the page's terminal over a websocket.

Who may open it:
- loopback (127.0.0.1) by default; a non-loopback ``--host`` is refused (exit 2)
  unless an access token is configured, ``--token-ref env:NAME`` or ``[serve] token``
  (a secret reference, never a literal);
- with a token, every request carries it: ``/?token=…`` once (answered by a redirect
  that drops it from the address bar and sets an HttpOnly, SameSite=Strict cookie),
  or ``Authorization: Bearer …``; anything else is 401;
- the websocket must come from the page's own origin (another site open in the same
  browser cannot drive the panel), and on a loopback bind the Host must be a loopback
  name (no DNS rebinding).

textual-serve 1.1 has no access control of its own (Textualize/textual-serve#41, still
open, proposes a password middleware); the guard here is an aiohttp middleware on the
application textual-serve builds (``Server._make_app``), pinned to textual-serve 1.x.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import html
import ipaddress
import os
import re
import shlex
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from gonogo.cli import exits
from gonogo.cli.common import err, load_or_report

if TYPE_CHECKING:  # pragma: no cover
    from aiohttp import web

    from gonogo.config import Plan

COOKIE = "gonogo_serve"
MIN_TOKEN = 16  # characters: a token a browser page is guarded by must not be guessable
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
Handler = Callable[["web.Request"], Awaitable["web.StreamResponse"]]


def served_command(config: Path, session: str | None, *, drive: bool, actor: str | None,
                   store: str | None = None) -> list[str]:
    """The command line each browser page runs (the one place to change it): the
    read-only ``watch`` panel, or with ``drive`` the driving ``tui``. A gonogo without
    ``watch`` serves ``tui`` for both (``run_serve`` warns)."""
    sub = "tui" if drive or not _has_command("watch") else "watch"
    argv = [sys.executable, "-m", "gonogo", sub, "--config", str(config)]
    for flag, value in (("--session", session), ("--store", store), ("--actor", actor)):
        if value:
            argv += [flag, value]
    return argv


def _has_command(name: str) -> bool:
    from gonogo.cli import build_parser

    return any(isinstance(a, argparse._SubParsersAction) and name in a.choices
               for a in build_parser()._actions)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or ``localhost``; any other name or address is not."""
    name = host.strip().strip("[]")
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    """``[::1]:8000`` -> ``::1``; ``localhost:8000`` -> ``localhost``."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def guard(token: str | None, *, loopback: bool, also: frozenset[str] = frozenset()) -> Any:
    """The aiohttp middleware that decides who may open the panel (see the module doc)."""
    from aiohttp import web

    def same(given: str | None) -> bool:
        return (token is not None and given is not None
                and hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")))

    def refuse(status: int, why: str) -> web.Response:
        return web.Response(status=status, text=f"gonogo serve: {why}\n",
                            headers={"Cache-Control": "no-store"})

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host", "")
        if not _HOST.match(host):
            return refuse(400, "bad Host header")
        if loopback and not is_loopback(_host_name(host)) and _host_name(host) not in also:
            return refuse(403, "this panel is served on loopback only (ssh -L, or --host with "
                               "a token)")
        origin = request.headers.get("Origin")
        if request.path == "/ws" and origin is not None and urlsplit(origin).netloc != host:
            return refuse(403, "the panel's websocket opens from its own page only")
        if token is None:
            return await handler(request)
        given = request.query.get("token")
        if given is not None and request.method == "GET" and request.path == "/":
            if not same(given):
                return refuse(401, "wrong access token")
            rest = {k: v for k, v in request.query.items() if k != "token"}
            response = web.HTTPSeeOther("/" + (f"?{urlencode(rest)}" if rest else ""))
            response.set_cookie(COOKIE, given, httponly=True, samesite="Strict", path="/",
                                secure=request.secure)
            response.headers["Cache-Control"] = "no-store"
            return response
        bearer = request.headers.get("Authorization", "")
        if same(request.cookies.get(COOKIE)) or (
                bearer[:7].lower() == "bearer " and same(bearer[7:].strip())):
            return await handler(request)
        return refuse(401, "this panel needs its access token: open /?token=TOKEN once "
                           "(the token is in the reference the server was started with)")

    return middleware


def make_server(command: list[str], *, host: str, port: int, title: str, token: str | None,
                public_url: str | None) -> Any:
    """A textual-serve ``Server`` serving ``command``, guarded by ``guard``."""
    import aiohttp_jinja2
    from textual_serve.server import Server

    allowed = frozenset({urlsplit(public_url).hostname or ""}) if public_url else frozenset()
    loopback = is_loopback(host)

    class GuardedServer(Server):
        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.middlewares.append(guard(token, loopback=loopback, also=allowed))
            return app

        async def on_startup(self, app: web.Application) -> None:
            return None  # gonogo says where it serves (textual-serve's banner names the command)

        async def handle_index(self, request: web.Request) -> web.Response:
            # URLs from the address the page was opened at (the bind address may be
            # 0.0.0.0); the Host header was checked by the guard.
            base = (public_url or f"{request.scheme}://{request.host}").rstrip("/")
            websocket = ("wss:" if base.startswith("https:") else "ws:") + base.split(":", 1)[1]
            try:
                size = max(6, min(64, int(request.query.get("fontsize", "16"))))
            except ValueError:
                size = 16
            context = {
                "font_size": size,
                "app_websocket_url": websocket + "/ws",
                "config": {"static": {"url": base + "/static/"}},
                "application": {"name": html.escape(self.title)},  # the template does not escape
            }
            response = aiohttp_jinja2.render_template("app_index.html", request, context)
            response.headers["Cache-Control"] = "no-store"
            return response

    return GuardedServer(shlex.join(command), host=host, port=port, title=title,
                         public_url=public_url)


async def _serve(server: Any, host: str, port: int, announce: Callable[[str], None]) -> None:
    from aiohttp import web

    app = await server._make_app()
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1] if runner.addresses else port
        shown = socket.gethostname() if host in ("0.0.0.0", "::") else host
        announce(f"http://{f'[{shown}]' if ':' in shown else shown}:{bound}/")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()  # each page's process is told to quit


def _token(ref_text: str | None, plan: Plan) -> tuple[str | None, str]:
    """The access token and where it came from, or ``(None, "")``; ``ValueError`` says
    what is wrong with it (never its value)."""
    from gonogo.context import make_context
    from gonogo.secrets import SecretError
    from gonogo.values import SecretRef

    if ref_text is not None:
        where = "--token-ref"
        try:
            ref = SecretRef.parse(ref_text)
        except ValueError as exc:
            raise ValueError(f"--token-ref: {exc}") from None
    elif plan.doc.serve.token is not None:
        where, ref = f"{plan.source}: serve.token", plan.doc.serve.token
    else:
        return None, ""
    ctx = make_context(plan)  # a vault: reference reads through [integrations.vault]
    try:
        value = ctx.resolver.resolve_sync(ref).strip()
    except SecretError as exc:
        raise ValueError(f"{where}: {exc}") from None
    finally:
        asyncio.run(ctx.aclose())
    if len(value) < MIN_TOKEN:
        raise ValueError(f"{where}: the access token from {ref} is {len(value)} characters; use at "
                         f"least {MIN_TOKEN} (for example: openssl rand -hex 16)")
    if ref.scheme == "env":  # the pages' processes have no use for it
        os.environ.pop(ref.target, None)
    return value, str(ref)


def run_serve(args: argparse.Namespace) -> int:
    plan = load_or_report(args.config)
    if plan is None:
        return exits.USAGE
    settings = plan.doc.serve
    host = (args.host or settings.host).strip()
    port = settings.port if args.port is None else args.port
    if not 0 <= port <= 65535:
        err(f"--port {port}: not a TCP port")
        return exits.USAGE
    try:
        token, ref = _token(args.token_ref, plan)
    except ValueError as exc:
        err(str(exc))
        return exits.USAGE
    if token is None and not is_loopback(host):
        err(f"serve --host {host}: refusing to serve the panel beyond this machine without an "
            "access token. Give one as a secret reference (--token-ref env:NAME, or [serve] "
            f"token = \"env:NAME\" in {plan.source}), or serve on 127.0.0.1 and reach it "
            "through ssh -L")
        return exits.USAGE
    stored = bool(args.store) or plan.session.store is not None
    if not stored and not args.session:
        err("serve: give the session directory to show (--session DIR)")
        return exits.USAGE
    # a directory: absolute, for the pages' processes; with a store: the session's key
    session = args.session if stored else str(Path(args.session).resolve())
    if not stored and not args.drive and not Path(session).is_dir():
        err(f"--session {session}: no such session directory to watch (start the rollout "
            "first, or serve it with --drive)")
        return exits.USAGE
    public_url = args.public_url.rstrip("/") if args.public_url else None
    if public_url is not None and urlsplit(public_url).scheme not in ("http", "https"):
        err(f"--public-url {public_url}: write the address the browser opens, http(s)://HOST[:PORT]")
        return exits.USAGE
    command = served_command(Path(plan.source).resolve(), session, drive=args.drive,
                             actor=args.actor, store=args.store)
    driving = "watch" not in command
    mode = "driving panel" if driving else "read-only panel"
    if driving and not args.drive:
        err("warning: this gonogo has no `watch` command yet: each page runs the driving "
            "panel (gonogo tui)")
    if driving and token is None:
        err("warning: without an access token, every account on this machine can open the "
            "driving panel on loopback; on a shared host give --token-ref")
    server = make_server(command, host=host, port=port, title=f"gonogo · {plan.release.name}",
                         token=token, public_url=public_url)

    def announce(url: str) -> None:
        shown = public_url + "/" if public_url else url
        how = (f"; open {shown}?token=TOKEN once (TOKEN: the value of {ref})" if token
               else "")
        what = f"session {session}" if session else f"the {plan.release.name} session"
        print(f"gonogo: serving the {mode} of {what} on {url}{how}; Ctrl-C stops",
              file=sys.stderr, flush=True)

    try:
        asyncio.run(_serve(server, host, port, announce))
    except OSError as exc:
        err(f"cannot serve on {host}:{port}: {exc.strerror or exc}")
        return exits.FAILED
    return exits.OK
