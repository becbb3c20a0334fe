"""A secret reference pointing at something that is not a small file: /dev/zero, a
2 GiB sparse file, a FIFO nobody writes to. Each is refused at once, by name, without
reading it (no hang on the event loop, no memory filled)."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import pytest

from gonogo.secrets import Redactor, SecretError, SecretResolver
from gonogo.values import SecretRef


@pytest.fixture
def hostile(tmp_path: Path) -> dict[str, str]:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    sparse = tmp_path / "sparse"
    with open(sparse, "wb") as fh:
        fh.truncate(2 * 1024**3)
    return {"/dev/zero": "is a device", str(sparse): "is 2147483648 bytes", str(fifo): "is a FIFO"}


def test_each_is_refused_by_name_without_being_read(hostile: dict[str, str]) -> None:
    resolver = SecretResolver(Redactor())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for path, why in hostile.items():
        started = time.monotonic()
        with pytest.raises(SecretError) as refused:
            resolver.resolve_sync(SecretRef("file", path))
        assert why in str(refused.value) and f"cannot read secret file {path}" in str(refused.value)
        assert time.monotonic() - started < 0.5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KiB


def test_an_ordinary_secret_file_still_reads(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cr3t-t0ken\n")
    redactor = Redactor()
    assert SecretResolver(redactor).resolve_sync(SecretRef("file", str(token))) == "s3cr3t-t0ken"
    assert "s3cr3t-t0ken" not in redactor.text("the token is s3cr3t-t0ken")
