"""The HR system connectors by route name: /api/hris/{name}."""

from __future__ import annotations

from provisioning.intake import bamboohr, hibob, personio
from provisioning.intake.connector import Connector
from provisioning.settings import Settings

__all__ = ["CONNECTORS", "connector", "secret_names"]

CONNECTORS: dict[str, Connector] = {
    item.name: item for item in (bamboohr.CONNECTOR, hibob.CONNECTOR, personio.CONNECTOR)
}


def connector(name: str) -> Connector:
    """The connector for a route name; KeyError for an unknown one."""
    return CONNECTORS[name]


def secret_names(settings: Settings) -> list[str]:
    """The Key Vault secrets the enabled connectors read (for /api/health)."""
    names = {
        "bamboohr": (settings.bamboohr_webhook_secret_name, settings.bamboohr_api_key_secret_name),
        "hibob": (settings.hibob_webhook_secret_name, settings.hibob_service_user_token_secret_name),
        "personio": (settings.personio_webhook_token_secret_name, settings.personio_client_secret_name),
    }
    return [name for key, pair in names.items() if CONNECTORS[key].enabled(settings) for name in pair if name]
