"""Offline checks for who can reach the app and what its identity may do (docs/security.md).

- exposure: the Bicep offers every documented way to narrow access (IP restrictions for the HR system's egress,
  App Service authentication for approvers, an inbound private endpoint) and the host's request-size limit;
- signing: request signing is on by default, with a secret azd generates once and keeps in Key Vault;
- Graph grants: `infra/graph/main.bicep` grants, for every option, exactly the permissions the app's preflight
  requires (provisioning/credentials.py), so neither can drift to a broader permission unnoticed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.infra.bicep_checks import (
    Problem,
    _property_path,
    _text,
    app_settings,
    literal_text,
    object_properties,
    parse_bicep,
    string_value,
    walk,
)

__all__ = ["exposure_problems", "graph_grants", "signing_problems"]

_AZD_SECRET = re.compile(r"^\$\(secretOrRandomPassword \$\{(?P<vault>[A-Z_][A-Z0-9_]*)\} (?P<name>[A-Za-z0-9-]+)\)$")


def _identifier_uses(path: Path, name: str) -> int:
    """How often `name` appears as an identifier in a file (its declaration included)."""
    parsed = parse_bicep(path)
    return sum(1 for node in walk(parsed.root) if node.type == "identifier" and _text(node) == name)


def exposure_problems(infra_dir: Path) -> list[Problem]:
    """The app can be narrowed to the HR system's addresses, to Entra-authenticated approvers for approve and
    rescind, and to a private endpoint; the host refuses oversized bodies before the app reads them."""
    problems: list[Problem] = []
    main = infra_dir / "main.bicep"
    app = parse_bicep(infra_dir / "modules/functionapp.bicep")
    sites = [r for r in app.resources if r.type.lower().startswith("microsoft.web/sites@") and not r.existing]
    if not sites:
        return [Problem(app.path, 1, "no Microsoft.Web/sites resource")]
    site = sites[0]
    for path in (
        "properties.siteConfig.ipSecurityRestrictions",
        "properties.siteConfig.ipSecurityRestrictionsDefaultAction",
        "properties.publicNetworkAccess",
    ):
        if _property_path(site.body, path) is None:
            problems.append(app.problem(site.node, f"{site.symbol}: {path} is not set"))
    default_action = _property_path(site.body, "properties.siteConfig.ipSecurityRestrictionsDefaultAction")
    if default_action is not None and "'Deny'" not in _text(default_action):
        problems.append(app.problem(default_action, "ipSecurityRestrictionsDefaultAction never denies"))
    configs = {string_value(object_properties(r.body).get("name")) for r in app.resources if r.parent is site}
    if "authsettingsV2" not in configs:
        problems.append(app.problem(site.node, "no authsettingsV2 config: approvers cannot use App Service auth"))
    if "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT" not in app_settings(main):
        problems.append(Problem(app.path, 1, "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT is not set: the host reads any body"))
    for param in ("hrSystemAllowedIpRanges", "approverAuthClientId", "privateEndpointEnabled"):
        if param not in parse_bicep(main).params:
            problems.append(Problem(main, 1, f"parameter {param} is missing"))
        elif _identifier_uses(main, param) < 2:
            problems.append(Problem(main, 1, f"parameter {param} is declared but not used"))
    site_endpoints = [
        (parsed, resource)
        for path in sorted((infra_dir / "modules").glob("*.bicep"))
        for parsed in [parse_bicep(path)]
        for resource in parsed.resources
        if resource.type.lower().startswith("microsoft.network/privateendpoints@")
        and "'sites'" in _text(_property_path(resource.body, "properties") or resource.node)
    ]
    if not site_endpoints:
        problems.append(Problem(infra_dir, 1, "no private endpoint with groupId 'sites' for the function app"))
    return problems


def signing_problems(entry: Path, parameters_path: Path) -> list[Problem]:
    """Request signing is on by default and its secret is generated once, kept in Key Vault and read back."""
    main = parse_bicep(entry)
    problems: list[Problem] = []
    toggle = main.params.get("requestSigning")
    if toggle is None or literal_text(toggle.default) != "true":
        problems.append(Problem(entry, 1, "requestSigning must be a parameter that defaults to true"))
    setting = app_settings(entry).get("HR_SIGNING_SECRET_NAME")
    if setting is None or "requestSigning" not in _text(setting.value):
        problems.append(Problem(entry, 1, "HR_SIGNING_SECRET_NAME does not follow requestSigning"))
    secret = main.params.get("hrSigningSecret")
    if secret is None or "secure" not in secret.decorators:
        problems.append(Problem(entry, 1, "hrSigningSecret must be a @secure() parameter"))
    value = json.loads(parameters_path.read_text(encoding="utf-8"))["parameters"].get("hrSigningSecret", {})
    match = _AZD_SECRET.match(str(value.get("value", "")))
    if match is None:
        problems.append(Problem(parameters_path, 1, "hrSigningSecret must come from $(secretOrRandomPassword ...)"))
        return problems
    if match["vault"] not in {output.name for output in main.outputs}:
        problems.append(Problem(parameters_path, 1, f"{match['vault']} is not an output of main.bicep"))
    names = {string_value(node) for node in walk(main.root) if node.type == "string"}
    if match["name"] not in names:
        problems.append(Problem(parameters_path, 1, f"the template never names the secret {match['name']}"))
    return problems


def graph_grants(graph_dir: Path, credential_method: str, revoke_sessions: bool, mail_permission: str) -> set[str]:
    """The Graph application permissions infra/graph/main.bicep grants for these options."""
    parsed = parse_bicep(graph_dir / "main.bicep")

    def literals(variable: str, key: str | None = None) -> set[str]:
        node = parsed.variables[variable]
        if key is not None:
            node = object_properties(node)[key]
        return {text for text in (string_value(n) for n in walk(node) if n.type == "string") if text and "." in text}

    grants = literals("baseAppRoles") | literals("credentialAppRoles", credential_method)
    if revoke_sessions:
        grants |= literals("revokeAppRoles")
    if mail_permission == "graph":
        grants |= literals("mailAppRoles")
    return grants
