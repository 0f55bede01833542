"""A local Durable Functions host: runs a v2-model Python Functions app through the real SDK.

See `FunctionsHost` for the in-process API and `python -m emulators.functions_host --help` for the CLI.
"""

from .clock import HostClock, ScaledClock, VirtualClock
from .engine import CUSTOM_STATUS_LIMIT_BYTES, InstanceExistsError, UnknownFunctionError
from .host import DEFAULT_FUNCTION_KEY, DEFAULT_MASTER_KEY, DEFAULT_SYSTEM_KEY, FunctionsHost
from .management import InstanceNotFoundError, InvalidOperationError, Management, Outcome
from .replay import NON_DETERMINISM_PREFIX

__all__ = [
    "CUSTOM_STATUS_LIMIT_BYTES",
    "DEFAULT_FUNCTION_KEY",
    "DEFAULT_MASTER_KEY",
    "DEFAULT_SYSTEM_KEY",
    "NON_DETERMINISM_PREFIX",
    "FunctionsHost",
    "HostClock",
    "InstanceExistsError",
    "InstanceNotFoundError",
    "InvalidOperationError",
    "Management",
    "Outcome",
    "ScaledClock",
    "UnknownFunctionError",
    "VirtualClock",
]
