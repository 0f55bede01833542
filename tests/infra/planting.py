"""Break a private copy of infra/ on purpose, so each check is shown to catch what it claims to."""

from __future__ import annotations

import shutil
from pathlib import Path

INFRA = Path(__file__).resolve().parents[2] / "infra"


def copy_infra(target: Path) -> Path:
    """A private copy of infra/ under ``target`` that a test may break."""
    copy = target / "infra"
    shutil.copytree(INFRA, copy)
    return copy


def plant(path: Path, old: str, new: str) -> None:
    """Replace exactly one occurrence of `old`; fail loudly if the Bicep no longer contains it."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")
