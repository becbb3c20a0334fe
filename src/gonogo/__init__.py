"""gonogo: a terminal control panel for production go/no-go and canary rollouts."""

import sys as _sys

__version__ = "0.1.0"

# httpx imports its optional command-line tool (click, pygments, rich) at import time
# when those happen to be installed; gonogo never uses it. Marking it absent makes
# httpx take its own ImportError fallback: ~0.2 s less start-up, and the headless core
# does not drag Rich in through httpx.
_sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
