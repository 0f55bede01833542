"""Checks shared by the end-to-end tests.

`secret_leaks` is the product's promise that no Temporary Access Pass, bearer token or client secret ever reaches
durable state, logs or an HTTP response (docs/design.md), written once so every e2e scenario can end with it.
"""

from __future__ import annotations

import html
import json
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from demo.stack import Stack

__all__ = ["BEARER", "JWT", "secret_leaks"]

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+")
"""A compact JWS such as an Entra access token (header and payload are base64url JSON, so both start `eyJ`)."""
BEARER = re.compile(r"Bearer\s+[A-Za-z0-9._~+/=-]{16,}")
"""An Authorization header value. (A failed activity's traceback quotes the source line that builds the header,
`f"Bearer {...}"`, which is code, not a token, and does not match.)"""


def secret_leaks(stack: Stack, responses: Iterable[str] = (), *, secrets: Iterable[str] = ()) -> list[str]:
    """Where something secret turned up, as `"<what> in <where>"` lines (never the secret itself).

    Looks in every file of the functions host's state directory (task hub SQLite, host.log), in a SQL dump of the
    task hub (text split across SQLite pages is whole there) and in `responses` (bodies the API answered). The
    secrets looked for are the Temporary Access Passes the emulator issued, the emulator's client secret and
    managed identity header, any bearer token, and `secrets` (e.g. Key Vault values a test seeded).
    """
    state = stack.entra.control.state()
    known: dict[str, str] = {
        tap["temporaryAccessPass"]: "a Temporary Access Pass"
        for tap in state["temporaryAccessPasses"]
        if tap.get("temporaryAccessPass")
    }
    known[stack.entra.env["EMULATOR_APP_CLIENT_SECRET"]] = "the client secret"
    known[stack.entra.env["IDENTITY_HEADER"]] = "the managed identity header"
    for value in secrets:
        known[value] = "a Key Vault secret"
    haystacks = {**_state_dir_text(stack.host.log_path.parent), "responses": "\n".join(responses)}
    leaks: list[str] = []
    for where, text in haystacks.items():
        leaks += [f"{what} in {where}" for value, what in known.items() if value and value in text]
        if JWT.search(text) or BEARER.search(text):
            leaks.append(f"a bearer token in {where}")
    return leaks


def _state_dir_text(state_dir: Path) -> dict[str, str]:
    texts = {
        str(path.relative_to(state_dir)): path.read_bytes().decode("utf-8", "replace")
        for path in sorted(state_dir.rglob("*"))
        if path.is_file()
    }
    for database in state_dir.rglob("*.sqlite"):
        with sqlite3.connect(database) as connection:
            texts[f"{database.name} (SQL dump)"] = "\n".join(connection.iterdump())
    return texts


def carries(text: str, secret: str) -> bool:
    """Whether a mail (as JSON text) holds the pass: HTML bodies escape it (a pass may contain '&')."""
    return secret in text or json.dumps(html.escape(secret, quote=False))[1:-1] in text
