"""function_app.py is what Azure indexes: it must import with no app settings and register every function."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_imports_cleanly_without_any_setting() -> None:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    script = (
        "import json, function_app;"
        "functions = function_app.app.get_functions();"
        "print(json.dumps(sorted(f.get_function_name() for f in functions)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    names = json.loads(result.stdout.strip().splitlines()[-1])
    for expected in (
        "submit_event",
        "submit_batch",
        "event_status",
        "hr_event",
        "hr_batch",
        "bulk_uploader",
        "upload_bulk_request",
        "issue_first_credential",
        "name_reservation",
        "bulk_upload_queue",
    ):
        assert expected in names
