"""Typed application settings, read from the environment and validated once at start-up.

- `spec`: the `SETTINGS` table (name, default, description, example) the docs, Bicep and
  local.settings.example.json are checked against;
- `model`: the pydantic-settings model `Settings` with one validated field per setting;
- `parsers`: what each kind of value must look like; `endpoints`: the bulkUpload URL;
- `rules`: the checks that involve several settings.
"""

from provisioning.settings.endpoints import GRAPH_HOST, BulkUploadEndpoint, GraphApiVersion, parse_bulk_upload_endpoint
from provisioning.settings.model import (
    CredentialMethod,
    CredentialRecipient,
    GraphAuth,
    MailPermission,
    MappedWebhookAuth,
    Settings,
    SettingsError,
    SyncWaitMode,
)
from provisioning.settings.parsers import RESERVED_SCIM_URNS
from provisioning.settings.rules import CONNECTOR_REQUIREMENTS
from provisioning.settings.spec import (
    BULK_CALLS_PER_5S_MAX,
    CONNECTOR_NAMES,
    DEFAULT_SCIM_EXTENSION_URN,
    RECONCILE_ATTRIBUTE_NAMES,
    RECONCILE_CLASSES,
    SETTING_NAMES,
    SETTINGS,
    TAP_LIFETIME_RANGE,
    SettingSpec,
)

__all__ = [
    "BULK_CALLS_PER_5S_MAX",
    "CONNECTOR_NAMES",
    "CONNECTOR_REQUIREMENTS",
    "DEFAULT_SCIM_EXTENSION_URN",
    "GRAPH_HOST",
    "RECONCILE_ATTRIBUTE_NAMES",
    "RECONCILE_CLASSES",
    "RESERVED_SCIM_URNS",
    "SETTINGS",
    "SETTING_NAMES",
    "TAP_LIFETIME_RANGE",
    "BulkUploadEndpoint",
    "CredentialMethod",
    "CredentialRecipient",
    "GraphApiVersion",
    "GraphAuth",
    "MailPermission",
    "MappedWebhookAuth",
    "SettingSpec",
    "Settings",
    "SettingsError",
    "SyncWaitMode",
    "parse_bulk_upload_endpoint",
]
