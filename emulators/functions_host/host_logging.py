"""Capture of Python `logging` output (the app's and the host's) to `<state-dir>/host.log`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"


class LogCapture:
    """Attaches handlers to the root logger for the host's lifetime and removes them afterwards."""

    def __init__(self, log_path: Path, *, to_stderr: bool = False) -> None:
        self.log_path = log_path
        self._handlers: list[logging.Handler] = []
        self._previous_level: int | None = None
        file_handler = logging.FileHandler(log_path, encoding="utf-8")
        file_handler.setFormatter(logging.Formatter(_FORMAT))
        self._handlers.append(file_handler)
        if to_stderr:
            stream = logging.StreamHandler(sys.stderr)
            stream.setFormatter(logging.Formatter(_FORMAT))
            self._handlers.append(stream)

    def attach(self) -> None:
        root = logging.getLogger()
        self._previous_level = root.level
        if root.level == logging.NOTSET or root.level > logging.INFO:
            root.setLevel(logging.INFO)
        for handler in self._handlers:
            handler.setLevel(logging.INFO)
            root.addHandler(handler)

    def detach(self) -> None:
        root = logging.getLogger()
        for handler in self._handlers:
            root.removeHandler(handler)
            handler.close()
        if self._previous_level is not None:
            root.setLevel(self._previous_level)
