"""The exit codes of every ``gonogo`` command, defined here and nowhere else."""

from __future__ import annotations

OK = 0  # GO; a stable rollout; success
NOGO = 1  # NO-GO; a rollout blocked or left waiting for a decision
FAILED = NOGO  # a log that fails verification, a sandbox that cannot start
USAGE = 2  # bad usage or config
ROLLED_BACK = 3  # the rollout was rolled back
DRIVEN = 4  # another process drives this release (the message names it)
INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
