"""The HR system connectors by route name: /api/hris/{name}."""

from __future__ import annotations

from provisioning.intake import bamboohr, hibob, personio
from provisioning.intake.connector import Connector

__all__ = ["CONNECTORS", "connector"]

CONNECTORS: dict[str, Connector] = {
    item.name: item for item in (bamboohr.CONNECTOR, hibob.CONNECTOR, personio.CONNECTOR)
}


def connector(name: str) -> Connector:
    """The connector for a route name; KeyError for an unknown one."""
    return CONNECTORS[name]
