"""The rollout engine: journal, stage machine, canary analysis, traffic, runbook.

- ``journal``: append-only, hash-chained, fsync'd session events (``FileJournal``).
- ``state``: ``RolloutState`` as a pure fold over those events.
- ``stages``: the seed's default plan and what blocks an advance (pure).
- ``analysis``: the stop-criteria rules (pure functions of samples).
- ``metrics`` / ``traffic``: the I/O edges (Prometheus or sandbox; command, http,
  manual, sandbox drivers).
- ``engine``: the only writer; ``runbook`` and ``incident`` carry out a rollback.
- ``export`` / ``cli``: one line per event, TOML/JSON exports, ``gonogo rollout``/``log``.

Headless by contract: nothing here imports Textual or Rich.
"""
