"""`GET /api/health` (the verdict for monitors) and `GET /api/health/details` (the full check, admin key)."""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from provisioning import runtime
from provisioning.credentials import SecretUnavailable, missing_roles, required_roles, token_facts
from provisioning.intake import registry as intake_registry
from provisioning.intake.hr_api.messages import (
    json_response,
)
from provisioning.intake.mapping import MappingLoadError, load_configured
from provisioning.settings import Settings, SettingsError

bp = df.Blueprint(http_auth_level=func.AuthLevel.FUNCTION)
logger = logging.getLogger("provisioning.http")


@bp.route(route="health", methods=["GET"])
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Configuration and dependency check for monitors: the verdict and what is wrong, nothing that maps the
    tenant (no tenant or app id, vault, secret names or addresses). The details need the admin key."""
    body, status = _health_report()
    return json_response({"status": body["status"], "problems": body["summary"]}, status)


@bp.route(route="health/details", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def health_details(req: func.HttpRequest) -> func.HttpResponse:
    """The full check for an operator holding the host's admin (master) key: facts, settings, exact problems."""
    body, status = _health_report()
    details = {"status": body["status"], "problems": body["problems"]}
    if "checks" in body:
        details["checks"] = body["checks"]
    return json_response(details, status)


def _health_report() -> tuple[dict[str, Any], int]:
    """Settings, Graph token and permissions, Key Vault secrets, templates; `summary` is the public wording."""
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        names = sorted({problem.split(" ", 1)[0].rstrip(":") for problem in error.problems})
        wording = [f"setting {name} is missing or invalid" for name in names]
        return {"status": "unhealthy", "problems": error.problems, "summary": wording}, 503
    problems: list[str] = []
    summary: list[str] = []
    checks: dict[str, Any] = {}
    rt = runtime.current()
    try:
        facts = token_facts(rt.credential)
        needed = required_roles(
            settings.credential_method, settings.revoke_sessions, mail_permission=settings.mail_permission
        )
        missing = missing_roles(facts["roles"], needed)
        checks["graph"] = {"tenantId": facts["tenantId"], "appId": facts["appId"], "missingRoles": missing}
        problems += [f"Graph permission missing: {role}" for role in missing]
        summary += [f"Graph permission missing: {role}" for role in missing]
    except Exception as error:  # any credential failure is a health problem, reported without details
        problems.append(f"Graph token could not be acquired ({type(error).__name__})")
        summary.append("Graph token could not be acquired")
    if rt.secrets is not None:
        secrets_to_read = (
            ("Graph client secret", settings.graph_client_secret_name),
            ("request signing secret", settings.hr_signing_secret_name),
            ("mapped webhook secret", settings.mapped_webhook_secret_name),
            *(("HR system connector secret", name) for name in intake_registry.secret_names(settings)),
        )
        for purpose, name in secrets_to_read:
            if not name:
                continue
            try:
                rt.secrets.get(name)
                checks.setdefault("keyVault", {})[name] = "readable"
            except SecretUnavailable as unavailable:
                problems.append(f"Key Vault secret {name} unavailable: {unavailable.reason}")
                summary.append(f"the {purpose} cannot be read from Key Vault")
    template_problems = rt.notifier.template_problems()
    problems += template_problems
    summary += ["an email template does not compile"] if template_problems else []
    if settings.mapped_webhook_mapping_file:
        try:
            load_configured(settings.mapped_webhook_mapping_file)
        except MappingLoadError as invalid:
            problems += invalid.lines()
            summary.append("the mapped webhook's mapping file is invalid")
    checks["settings"] = settings.public_summary()
    status = "ok" if not problems else "unhealthy"
    return {"status": status, "problems": problems, "summary": summary, "checks": checks}, 200 if not problems else 503
