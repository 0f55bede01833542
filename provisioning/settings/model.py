"""The validated configuration: a pydantic-settings model read from the app settings once at start-up.

Each field's validator is the parser of its kind of value (provisioning.settings.parsers); defaults come from
the `SETTINGS` table, so the docs, the Bicep and the app cannot disagree on them. `Settings.from_env` reports
*every* problem at once, the setting's name first, so an operator fixes a broken deployment in one pass
instead of one restart per typo.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import time
from functools import cached_property
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import (
    BeforeValidator,
    ModelWrapValidatorHandler,
    TypeAdapter,
    ValidationError,
    computed_field,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from provisioning.naming import NamePolicy, Transliteration
from provisioning.settings import parsers
from provisioning.settings.endpoints import GraphApiVersion, bulk_upload_url, parse_bulk_upload_endpoint
from provisioning.settings.rules import problems_across_settings
from provisioning.settings.spec import (
    BULK_CALLS_PER_5S_MAX,
    CONNECTOR_NAMES,
    RECONCILE_ATTRIBUTE_NAMES,
    RECONCILE_CLASSES,
    SETTINGS,
    SPECS_BY_NAME,
    TAP_LIFETIME_RANGE,
    SettingSpec,
)

GraphAuth = Literal["managed_identity", "client_secret"]
SyncWaitMode = Literal["watch", "poll", "fixed"]
CredentialMethod = Literal["tap", "password", "none"]
CredentialRecipient = Literal["manager", "personal", "both"]
MailPermission = Literal["exchange_rbac", "graph"]
MappedWebhookAuth = Literal["none", "hmac", "token", "basic"]

# The kinds of value several settings share; a field's validator turns the environment string into the value.
Domain = Annotated[str, BeforeValidator(parsers.domain)]
EmailAddress = Annotated[str, BeforeValidator(parsers.email)]
Flag = Annotated[bool, BeforeValidator(parsers.boolean)]
LocalTime = Annotated[time, BeforeValidator(parsers.local_time)]
SecretName = Annotated[str, BeforeValidator(parsers.secret_name)]
HeaderName = Annotated[str, BeforeValidator(parsers.header_name)]
MappingFile = Annotated[str, BeforeValidator(parsers.mapping_file)]
VendorToken = Annotated[str, BeforeValidator(parsers.vendor_token)]
VendorField = Annotated[str, BeforeValidator(parsers.vendor_field)]
HttpsBaseUrl = Annotated[str, BeforeValidator(parsers.https_base_url)]


def _whole(low: int, high: int | None = None) -> BeforeValidator:
    return BeforeValidator(parsers.integer(low, high))


def _one_of(choices: Any) -> BeforeValidator:
    """Case-insensitive choice among the values of a Literal type, so the allowed values are written once."""
    return BeforeValidator(parsers.choice(*get_args(choices)))


class SettingsError(ValueError):
    """Raised by `Settings.from_env` with every configuration problem found, not just the first."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        listing = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{len(self.problems)} configuration problem(s):\n{listing}")


class EnvironmentSource(PydanticBaseSettingsSource):
    """App settings as App Service and Bicep write them: upper-case names, values trimmed, blank = unset.

    Bicep and the portal often write "" for an optional setting, so a blank value falls back to the default of
    `SETTINGS` like an absent one. Reading from any mapping (not only os.environ) lets the health check and the
    tests validate a configuration without touching the process environment.
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self._environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        name = field_name.upper()
        raw = (self._environ.get(name) or "").strip() or (SPECS_BY_NAME[name].default or "")
        return (raw or None), name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, _, _ = self.get_field_value(field, field_name)
            if value is not None:
                values[field_name] = value
        return values


class Settings(BaseSettings):
    """Validated configuration; one field per entry of `SETTINGS` (lower-cased name) plus the endpoint's ids."""

    # validate_default is off: an unset optional setting is None, which is not a value to parse. Inputs are kept
    # out of error texts: someone may have pasted a secret where its Key Vault name belongs.
    model_config = SettingsConfigDict(frozen=True, validate_default=False, extra="ignore", hide_input_in_errors=True)

    provisioning_api_endpoint: Annotated[str, BeforeValidator(bulk_upload_url)]
    upn_domain: Domain
    mail_domain: Domain = ""
    mail_sender: EmailAddress
    it_notify_address: EmailAddress
    graph_auth: Annotated[GraphAuth, _one_of(GraphAuth)]
    azure_client_id: Annotated[str | None, BeforeValidator(parsers.guid)] = None
    azure_tenant_id: Annotated[str | None, BeforeValidator(parsers.guid_or_domain)] = None
    key_vault_url: Annotated[str | None, BeforeValidator(parsers.key_vault_url)] = None
    graph_client_secret_name: SecretName | None = None
    hr_signing_secret_name: SecretName | None = None
    signature_tolerance_seconds: Annotated[int, _whole(1, 3600)]
    secret_cache_ttl_seconds: Annotated[int, _whole(0, 86400)]
    provision_lead_days: Annotated[int, _whole(0, 365)]
    sync_timeout_minutes: Annotated[int, _whole(1, 7 * 24 * 60)]
    sync_wait_mode: Annotated[SyncWaitMode, _one_of(SyncWaitMode)]
    sync_watch_interval_seconds: Annotated[int, _whole(5, 3600)]
    credential_method: Annotated[CredentialMethod, _one_of(CredentialMethod)]
    tap_lifetime_minutes: Annotated[int, _whole(*TAP_LIFETIME_RANGE)]
    tap_start_local_time: LocalTime
    credential_recipient: Annotated[CredentialRecipient, _one_of(CredentialRecipient)]
    update_creates_missing: Flag
    termination_local_time: LocalTime
    revoke_sessions: Flag
    bulk_calls_per_5s: Annotated[int, _whole(1, BULK_CALLS_PER_5S_MAX)]
    bulk_daily_call_quota: Annotated[int, _whole(1)]
    termination_breaker_limit: Annotated[int, _whole(0)]
    breaker_daily_limit: Annotated[int, _whole(0)]
    breaker_batch_limit: Annotated[int, _whole(0)]
    rehire_hold_after_days: Annotated[int, _whole(0, 3650)]
    protected_group_ids: Annotated[tuple[str, ...] | None, BeforeValidator(parsers.guid_list)] = None
    retention_days: Annotated[int, _whole(1, 3650)]
    mail_permission: Annotated[MailPermission, _one_of(MailPermission)]
    approver_app_role: Annotated[str | None, BeforeValidator(parsers.app_role)] = None
    scim_extension_urn: Annotated[str, BeforeValidator(parsers.scim_urn)]
    transliteration: Annotated[Transliteration, _one_of(Transliteration)]
    name_patterns: Annotated[tuple[str, ...], BeforeValidator(parsers.name_patterns)]
    name_suffix_pattern: Annotated[str, BeforeValidator(parsers.suffix_pattern)]
    name_conflict_retries: Annotated[int, _whole(0, 20)]
    default_time_zone: Annotated[str, BeforeValidator(parsers.time_zone)]
    templates_dir: Annotated[str | None, BeforeValidator(parsers.templates_dir)] = None
    welcome_to_new_mailbox: Flag
    rename_on_name_change: Flag
    upload_coalesce_seconds: Annotated[int, _whole(0, 300)]
    batch_upload_wait_seconds: Annotated[int, _whole(10, 86400)]
    provisioning_poll_initial_seconds: Annotated[int, _whole(1, 3600)]
    provisioning_poll_max_seconds: Annotated[int, _whole(1, 3600)]
    taskhub_name: Annotated[str, BeforeValidator(parsers.taskhub)]
    mapped_webhook_mapping_file: MappingFile | None = None
    mapped_webhook_auth: Annotated[MappedWebhookAuth, _one_of(MappedWebhookAuth)]
    mapped_webhook_secret_name: SecretName | None = None
    mapped_webhook_signature_header: HeaderName
    mapped_webhook_timestamp_header: HeaderName
    mapped_webhook_token_header: HeaderName
    reconcile_schedule: Annotated[str | None, BeforeValidator(parsers.cron)] = None
    reconcile_source: Annotated[str | None, BeforeValidator(parsers.choice(*CONNECTOR_NAMES))] = None
    reconcile_auto_apply: Annotated[
        tuple[str, ...] | None, BeforeValidator(parsers.subset("drift class", RECONCILE_CLASSES))
    ] = None
    reconcile_roster_mapping_file: MappingFile | None = None
    reconcile_roster_max_bytes: Annotated[int, _whole(1024, 100 * 1024 * 1024)]
    reconcile_attributes: Annotated[
        tuple[str, ...], BeforeValidator(parsers.subset("HR field", RECONCILE_ATTRIBUTE_NAMES))
    ]
    reconcile_scope: Annotated[str, BeforeValidator(parsers.choice("synced", "all"))]
    reconcile_max_creates: Annotated[int, _whole(0)]
    reconcile_max_creates_percent: Annotated[int, _whole(0, 100)]
    reconcile_max_updates: Annotated[int, _whole(0)]
    reconcile_max_updates_percent: Annotated[int, _whole(0, 100)]
    reconcile_max_disables: Annotated[int, _whole(0)]
    reconcile_max_disables_percent: Annotated[int, _whole(0, 100)]
    reconcile_plan_max_age_hours: Annotated[int, _whole(1, 24 * 30)]
    breaker_create_limit: Annotated[int, _whole(0)]
    breaker_update_limit: Annotated[int, _whole(0)]
    hris_writeback: Flag
    bamboohr_enabled: Flag
    bamboohr_company_domain: VendorToken | None = None
    bamboohr_api_base_url: HttpsBaseUrl
    bamboohr_api_key_secret_name: SecretName | None = None
    bamboohr_webhook_secret_name: SecretName | None = None
    bamboohr_employee_id_field: Annotated[str, BeforeValidator(parsers.choice("id", "employeenumber"))]
    bamboohr_upn_field: VendorField | None = None
    hibob_enabled: Flag
    hibob_api_base_url: HttpsBaseUrl
    hibob_service_user_id: VendorToken | None = None
    hibob_service_user_token_secret_name: SecretName | None = None
    hibob_webhook_secret_name: SecretName | None = None
    hibob_company_id: VendorToken | None = None
    hibob_employee_id_field: Annotated[str, BeforeValidator(parsers.choice("id", "employeeidincompany"))]
    hibob_upn_field: VendorField | None = None
    personio_enabled: Flag
    personio_api_base_url: HttpsBaseUrl
    personio_client_id: VendorToken | None = None
    personio_client_secret_name: SecretName | None = None
    personio_webhook_token_secret_name: SecretName | None = None
    personio_webhook_auth_header: HeaderName
    personio_company_id: VendorToken | None = None
    personio_upn_attribute: VendorField | None = None

    @computed_field  # type: ignore[prop-decorator]
    @cached_property
    def graph_api_version(self) -> GraphApiVersion:
        return parse_bulk_upload_endpoint(self.provisioning_api_endpoint).api_version

    @computed_field  # type: ignore[prop-decorator]
    @cached_property
    def service_principal_id(self) -> str:
        return parse_bulk_upload_endpoint(self.provisioning_api_endpoint).service_principal_id

    @computed_field  # type: ignore[prop-decorator]
    @cached_property
    def job_id(self) -> str:
        return parse_bulk_upload_endpoint(self.provisioning_api_endpoint).job_id

    @property
    def signing_enabled(self) -> bool:
        """Request signing is on exactly when a signing secret name is configured."""
        return self.hr_signing_secret_name is not None

    @property
    def default_zone(self) -> ZoneInfo:
        return ZoneInfo(self.default_time_zone)

    def name_policy(self) -> NamePolicy:
        """The user name generator's policy (docs/design.md, "Names") from these settings."""
        return NamePolicy(
            upn_domain=self.upn_domain,
            mail_domain=self.mail_domain,
            patterns=self.name_patterns,
            suffix_pattern=self.name_suffix_pattern,
            transliteration=self.transliteration,
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The values come from `from_env` (EnvironmentSource over os.environ or a given mapping) and nowhere
        # else: Azure has no .env file or secrets folder, and the secrets themselves live in Key Vault.
        return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting from `env` (default: os.environ).

        Empty or blank values count as unset, because App Service and Bicep often write "" for
        optional settings. Raises SettingsError listing every problem at once.
        """
        values = EnvironmentSource(cls, os.environ if env is None else env)()
        try:
            return cls(**values)
        except ValidationError as error:
            raise SettingsError([_problem(item) for item in error.errors(include_url=False)]) from None

    @model_validator(mode="wrap")
    @classmethod
    def _rules_across_settings(cls, data: Any, handler: ModelWrapValidatorHandler[Settings]) -> Settings:
        """The rules that involve several settings, checked even when some settings failed their own check.

        Pydantic skips "after" model validators once a field fails, so the rules run here, on the fields that did
        parse, and their problems join the fields' own: the operator sees the whole list in one pass.
        """
        try:
            settings = handler(data)
        except ValidationError as error:
            errors = error.errors(include_url=False)
            failed = {str(item["loc"][0]).upper() for item in errors if item["loc"] and item["type"] != "missing"}
            broken = problems_across_settings(cls._each_field_alone(data, failed), failed)
            # The fields' own errors go back as they came (a built-in type name with its context), the rules' after.
            line_errors: list[Any] = [*errors, *map(_rule_error, broken)]
            raise ValidationError.from_exception_data(cls.__name__, line_errors) from None
        values = {name.upper(): getattr(settings, name) for name in cls.model_fields}
        broken = problems_across_settings(values, set())
        if broken:
            raise ValidationError.from_exception_data(cls.__name__, list(map(_rule_error, broken)))
        if not settings.mail_domain:
            # MAIL_DOMAIN defaults to UPN_DOMAIN; set once here, while the (frozen) model is being built.
            object.__setattr__(settings, "mail_domain", settings.upn_domain)
        return settings

    @classmethod
    def _each_field_alone(cls, data: Mapping[str, Any], failed: set[str]) -> dict[str, Any]:
        """Every setting validated on its own (None when unset or failed): what the rules see after a failure."""
        values: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            if name.upper() in failed or name not in data:
                values[name.upper()] = None if field.is_required() else field.default
                continue
            annotated: Any = Annotated[(field.annotation, *field.metadata)]
            values[name.upper()] = TypeAdapter(annotated).validate_python(data[name])
        return values

    @staticmethod
    def defaults_table() -> tuple[SettingSpec, ...]:
        """Every setting with default, required flag and description (for docs and infra checks)."""
        return SETTINGS

    def public_summary(self) -> dict[str, str | int | bool | None]:
        """The configuration as plain values for the health endpoint; holds no secret, only secret names."""
        summary: dict[str, str | int | bool | None] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, time):
                summary[name] = value.strftime("%H:%M")
            elif isinstance(value, tuple):
                summary[name] = ",".join(value)
            else:
                summary[name] = value
        return summary


def _rule_error(problem: str) -> InitErrorDetails:
    # Every rule's message starts with the name of the setting to change.
    name = problem.split(" ", 1)[0]
    return InitErrorDetails(
        type=PydanticCustomError("setting_rule", "{problem}", {"problem": problem}),
        loc=(name.lower(),),
        input=None,
    )


def _problem(error: Mapping[str, Any]) -> str:
    """One line of SettingsError: the setting's environment name, then what is wrong with it."""
    if error["type"] == "setting_rule":
        return str(error["msg"])
    name = str(error["loc"][0]).upper() if error["loc"] else "settings"
    if error["type"] == "missing":
        return f"{name} is required: {SPECS_BY_NAME[name].description}"
    if error["type"] == "value_error":
        return f"{name}: {error['ctx']['error']}"
    return f"{name}: {error['msg']}"
