"""One driver per release and environment on this host.

A second driver of the same release into the same environment is refused with who
holds it; the same release into another environment (staging and production, or two
sandboxes moved with ``--port-base``) is another rollout and is driven at once.
"""

from __future__ import annotations

import pytest

from gonogo.rollout.driverlock import DriverLock
from gonogo.rollout.journal import SessionBusy
from gonogo.sandbox.layout import builtin_config, relocate


def test_the_same_release_and_environment_has_one_driver() -> None:
    first = DriverLock("shop-2.4.0", actor="Rosa Diaz", session="a", environment="production")
    try:
        with pytest.raises(SessionBusy, match="release shop-2.4.0 is driven by Rosa Diaz"):
            DriverLock("shop-2.4.0", actor="Amir Haddad", session="b", environment="production")
        other = DriverLock("shop-2.4.0", actor="Amir Haddad", session="b", environment="staging")
        other.release_lock()
    finally:
        first.release_lock()
    again = DriverLock("shop-2.4.0", actor="Amir Haddad", session="b", environment="production")
    again.release_lock()  # the first driver gone, the next one drives


def test_a_moved_sandbox_is_its_own_environment() -> None:
    text = builtin_config().read_text(encoding="utf-8")
    assert 'environment = "sandbox"' in text
    moved = relocate(text, port_base=23000)
    assert 'environment = "sandbox-23000"' in moved and 'environment = "sandbox"' not in moved
