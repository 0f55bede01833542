"""The README stays true: every setting, route and failure code the code knows is documented there."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from provisioning.settings import SETTINGS
from provisioning.workflows import contracts

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_configuration_table() -> None:
    missing = [spec.name for spec in SETTINGS if f"| `{spec.name}` |" not in README]
    assert missing == []


def test_every_route_is_listed() -> None:
    document = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    for path, operations in document["paths"].items():
        for method in operations:
            if method in ("get", "post", "delete", "put", "patch"):
                assert f"`{method.upper()} /api{path}`" in README, (method, path)


def test_every_stage_is_explained() -> None:
    for stage in contracts.STAGES:
        assert re.search(rf"\b{re.escape(stage)}\b", README), stage


def test_the_two_commands() -> None:
    assert "make demo" in README and "make test" in README
