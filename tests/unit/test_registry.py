"""Check kinds from other packages: an installed distribution's ``gonogo.checks`` entry
point adds a kind (the registry looks at entry points only when a distribution
declares the group, so that loading a config does not import importlib.metadata)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def test_an_entry_point_adds_a_check_kind_and_a_config_may_use_it(tmp_path: Path) -> None:
    (tmp_path / "extra_checks.py").write_text(textwrap.dedent('''
        import msgspec
        from gonogo.model import Outcome

        class Params(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
            pass

        class Ping:
            kind = "ping_extra"
            Params = Params

            async def run(self, params, ctx):
                return Outcome.passed("pong")
    '''))
    info = tmp_path / "extra_checks-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: extra-checks\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[gonogo.checks]\nping_extra = extra_checks:Ping\n")
    config = tmp_path / "plan.toml"
    config.write_text(textwrap.dedent('''
        [release]
        name = "r"
        commit = "abc1234"
        [[gates]]
        id = "g"
        title = "G"
          [[gates.checks]]
          id = "ping"
          title = "Ping"
          kind = "ping_extra"
    '''))
    code = ("import sys; sys.path.insert(0, sys.argv[1]);"
            "from gonogo.cli import main; sys.exit(main(['check', '--config', sys.argv[2], '--format', 'json']))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path), str(config)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert '"summary": "pong"' in out.stdout
