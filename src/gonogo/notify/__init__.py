"""Notifications: tell the people who are not looking (docs/notifications.md).

``[[notify]]`` targets get what matters of a rollout — a stage entered, a hold
completed, a sign-off wanted, a stop criterion tripped, a rollback proposed, started
and finished, the release stable — as Alertmanager alerts (fired, then resolved),
Slack-compatible messages or gonogo's own JSON. ``rules`` maps journal events to
notifications (one table), ``payloads`` shapes them per kind of target, ``delivery``
sends them off the rollout's path.

``attach(engine)`` subscribes a notifier to the driver's engine (``cli.session``);
``send_test(plan)`` is ``gonogo notify test``. Headless: no Textual, no Rich.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from gonogo.notify.delivery import TEST_EVENT, Answer, Courier, Notifier, Send, build, make_client
from gonogo.notify.rules import Notification
from gonogo.rollout.events import NotifyFailed

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.config import Plan
    from gonogo.rollout.engine import Engine

__all__ = ["attach", "send_test", "test_notification", "Notifier", "Answer", "Courier"]


def attach(engine: Engine) -> Notifier | None:
    """Subscribe a notifier to ``engine`` when the plan has ``[[notify]]`` targets. A
    failed delivery is journaled through ``engine.emit`` (on the event loop, where the
    deliveries run); queued ones get a few seconds when the engine closes."""
    plan = engine.plan
    if not plan.notify:
        return None
    ctx = engine.ctx

    def report(failed: NotifyFailed) -> None:
        engine.emit(failed)

    notifier = build(plan, engine.session_dir, ctx.resolver, ctx.redactor, report)
    if engine.state.events and any(t.kind == "alertmanager" for t in plan.notify):
        notifier.catch_up(engine.events())  # a resumed session: what still fires
    engine.subscribe(notifier)
    engine.on_close(notifier.aclose)
    return notifier


def test_notification(plan: Plan, courier: Courier, actor: str) -> Notification:
    return Notification(
        event=TEST_EVENT, severity="info", title="Test notification",
        summary=(f"gonogo notify test for {plan.release.name}: target {courier.name} "
                 f"({courier.kind}) receives gonogo's notifications"),
        release=plan.release.name, environment=plan.release.environment,
        commit=plan.release.commit, at=time.time(), actor=actor,
        details={"target": courier.name, "kind": courier.kind},
    )


async def send_test(plan: Plan, actor: str) -> list[tuple[Courier, Answer]]:
    """One test notification to each target, all at once, one attempt each."""
    from gonogo.context import make_context
    from gonogo.runner import prime

    ctx = make_context(plan)
    client = make_client()
    try:
        await prime(ctx, timeout=plan.settings.timeout.seconds)  # every plan secret redacted
        couriers = [Courier(i, spec, plan, client, ctx.resolver, ctx.redactor)
                    for i, spec in enumerate(plan.notify)]
        answers = await asyncio.gather(*(
            c.post(Send(test_notification(plan, c, actor))) for c in couriers))
        return list(zip(couriers, answers, strict=True))
    finally:
        await client.aclose()
        await ctx.aclose()
