"""openapi.yaml against the code: routes, models, enums, examples, and the bodies the handlers really answer with.

HR integrators generate clients and mappings from this document, so any drift from the code becomes a rejected
hire on someone's first day. Rather than trusting the document, these tests derive every fact from the code: the
routes from the registered functions, field names from the pydantic aliases, enums from the contracts, and the
response shapes by calling the real HTTP handlers with a stand-in Durable client and runtime (the edges: Durable
storage, Graph, Key Vault) and validating what comes back against the schemas the document declares.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import functools
import inspect
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import azure.durable_functions as df
import azure.functions as func
import pytest
import yaml
from azure.core.credentials import AccessToken
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from azure.functions.decorators.http import HttpTrigger
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from pydantic import BaseModel
from referencing import Registry
from referencing.jsonschema import DRAFT202012

import function_app
from provisioning import directory, runtime
from provisioning.credentials import SecretUnavailable, required_roles
from provisioning.events import (
    EVENT_TYPES,
    MAX_BATCH_EVENTS,
    MAX_BODY_BYTES,
    Employee,
    EventValidationError,
    FieldError,
    HrEvent,
    HrEventBatch,
    parse_batch,
    parse_event,
    problem_details,
)
from provisioning.graph import GraphError
from provisioning.intake import mapped as mapped_route
from provisioning.intake import signing
from provisioning.intake.mapping import Mapping
from provisioning.notifications import Notifier
from provisioning.settings import Settings, SettingsError
from provisioning.workflows import contracts as c
from provisioning.workflows.plan import decide_action

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "mappings"
# openapi.yaml's examples for POST /hris/mapped: the shipped payloads, with the mapping that maps each.
MAPPED_EXAMPLES = {
    "successFactorsHire": ("successfactors.yaml", "successfactors-hire.json"),
    "workdayEvents": ("workday.yaml", "workday-events.json"),
}
DOCUMENT_URI = "urn:hr-provisioning:openapi"
BASE_URL = "https://contoso-hr.azurewebsites.net"
ENDPOINT = (
    "https://graph.microsoft.com/v1.0/servicePrincipals/3b0e4f2a-9c1d-4e5f-8a7b-6c5d4e3f2a1b/synchronization/jobs/"
    "API2AD.0f1e2d3c4b5a69788796a5b4c3d2e1f0.1a03de52-b9c3-4e2c-a1e3-9145aaa8e530/bulkUpload"
)
REQUIRED_SETTINGS = {
    "PROVISIONING_API_ENDPOINT": ENDPOINT,
    "UPN_DOMAIN": "contoso.com",
    "MAIL_SENDER": "hr-provisioning@contoso.com",
    "IT_NOTIFY_ADDRESS": "it-ops@contoso.com",
}
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


# -- the document ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "openapi.yaml").read_text(encoding="utf-8"))
    return loaded


def _pointer(*parts: str) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def _follow(document: dict[str, Any], pointer: str) -> Any:
    node: Any = document
    for raw in pointer.split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _deref(document: dict[str, Any], pointer: str) -> tuple[dict[str, Any], str]:
    """The object at `pointer`, following a component `$ref`, with the pointer where it really lives."""
    node = _follow(document, pointer)
    while "$ref" in node:
        pointer = node["$ref"].removeprefix("#")
        node = _follow(document, pointer)
    return node, pointer


def _validator(document: dict[str, Any], pointer: str) -> Draft202012Validator:
    """A JSON Schema 2020-12 validator for the schema at `pointer`, resolving its refs inside the document."""
    registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, DRAFT202012.create_resource(document))
    return Draft202012Validator(
        {"$ref": f"{DOCUMENT_URI}#{pointer}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def _schema(document: dict[str, Any], name: str) -> Draft202012Validator:
    return _validator(document, _pointer("components", "schemas", name))


def _errors(validator: Draft202012Validator, instance: object) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(instance)]


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method, path, item[method]


# -- the document is OpenAPI 3.1 and covers exactly the app's HTTP routes ---------------------------------------


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    OpenAPIV31SpecValidator(document).validate()


@functools.cache
def _registered_functions() -> tuple[Any, ...]:
    """The app's functions, built the way the host indexes them.

    `get_functions()` records every name it builds in `functions_bindings` and refuses a second call (it reads a
    repeat as a duplicate function name), so the bookkeeping is set aside for this call and put back after it:
    other tests, and the host, can still index the app.
    """
    app = function_app.app
    indexed = app.functions_bindings
    app.functions_bindings = {}
    try:
        return tuple(app.get_functions())
    finally:
        app.functions_bindings = indexed


def _http_functions() -> dict[tuple[str, str], Any]:
    """(method, /path) → registered function, read from the app the Functions host indexes."""
    routes: dict[tuple[str, str], Any] = {}
    for function in _registered_functions():
        trigger = function.get_trigger()
        if not isinstance(trigger, HttpTrigger):
            continue
        assert trigger.methods, f"{function.get_function_name()} accepts every method; the document cannot say so"
        # Route constraints and optional markers ({id:int}, {rest?}) are not part of an OpenAPI path template.
        path = "/" + re.sub(r"\{(\w+)[^}]*\}", r"{\1}", trigger.route or function.get_function_name())
        for method in trigger.methods:
            routes[(str(getattr(method, "value", method)).lower(), path)] = function
    return routes


def test_paths_and_methods_equal_the_registered_http_routes(document: dict[str, Any]) -> None:
    documented = {(method, path) for method, path, _ in _operations(document)}
    assert documented == set(_http_functions())


def test_operation_ids_name_the_functions_that_serve_them(document: dict[str, Any]) -> None:
    functions = _http_functions()
    for method, path, operation in _operations(document):
        assert operation["operationId"] == functions[(method, path)].get_function_name()


def test_path_parameters_are_declared_for_every_template_segment(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        declared = {
            _deref(document, _pointer("paths", path, "parameters", str(index)))[0]["name"]
            for index, _ in enumerate(item.get("parameters", []))
        }
        assert declared >= set(re.findall(r"\{(\w+)\}", path)), path


def test_servers_and_function_key_security_match_the_host(document: dict[str, Any]) -> None:
    host = json.loads((REPO / "host.json").read_text(encoding="utf-8"))
    prefix = host.get("extensions", {}).get("http", {}).get("routePrefix", "api")
    assert [server["url"] for server in document["servers"]] == [f"/{prefix}"]

    for (_, path), function in _http_functions().items():
        # Only the detailed health check needs the host's admin (master) key; every HR route the function key.
        expected = func.AuthLevel.ADMIN if path == "/health/details" else func.AuthLevel.FUNCTION
        assert function.get_trigger().auth_level == expected, path
    assert "master (admin) key" in document["paths"]["/health/details"]["get"]["description"]
    schemes = document["components"]["securitySchemes"]
    placements = {(scheme["type"], scheme["in"], scheme["name"]) for scheme in schemes.values()}
    assert placements == {("apiKey", "header", "x-functions-key"), ("apiKey", "query", "code")}
    assert sorted(name for requirement in document["security"] for name in requirement) == sorted(schemes)
    assert all("security" not in operation for _, _, operation in _operations(document)), "no route is open"


def test_signing_headers_are_the_ones_the_verifier_reads(document: dict[str, Any]) -> None:
    parameters = document["components"]["parameters"]
    assert {parameters["HrTimestamp"]["name"], parameters["HrSignature"]["name"]} == {
        signing.TIMESTAMP_HEADER,
        signing.SIGNATURE_HEADER,
    }
    signature = signing.sign("secret", "POST", "/api/hr-events", "1764000000", b"{}")
    pointer = _pointer("components", "parameters", "HrSignature", "schema")
    assert _validator(document, pointer).is_valid(signature)
    assert not _validator(document, pointer).is_valid("sha256=" + "0" * 64)


def test_every_hr_route_documents_the_signature_and_its_refusal(document: dict[str, Any]) -> None:
    """Signing covers every route under /hr-events (preview, status, rescind and approve included)."""
    refs = {"#/components/parameters/HrTimestamp", "#/components/parameters/HrSignature"}
    for method, path, operation in _operations(document):
        declared = {parameter.get("$ref") for parameter in operation.get("parameters", [])}
        if path.startswith(("/hr-events", "/reconciliations")):
            assert refs <= declared, (method, path)
            assert operation["responses"]["401"]["$ref"].endswith("/UnauthorizedOrBadSignature"), (method, path)
        else:
            assert not refs & declared, (method, path)


# -- request schemas against the pydantic models ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "name"), [(Employee, "Employee"), (HrEvent, "HrEvent"), (HrEventBatch, "HrEventBatch")]
)
def test_schema_properties_are_the_model_aliases(document: dict[str, Any], model: type[BaseModel], name: str) -> None:
    schema = document["components"]["schemas"][name]
    aliases = {field.alias or field_name for field_name, field in model.model_fields.items()}
    assert set(schema["properties"]) == aliases
    required = {field.alias or field_name for field_name, field in model.model_fields.items() if field.is_required()}
    assert set(schema["required"]) == required
    assert schema["additionalProperties"] is (model.model_config.get("extra") != "forbid")


def test_event_type_and_batch_limits_match_the_code(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["EventType"]["enum"] == list(EVENT_TYPES)
    events = schemas["HrEventBatch"]["properties"]["events"]
    assert (events["minItems"], events["maxItems"]) == (1, MAX_BATCH_EVENTS)
    assert str(MAX_BODY_BYTES) in document["components"]["responses"]["TooLarge"]["description"]


def _valid_by_code(event: dict[str, Any]) -> bool:
    try:
        parse_event(event)
    except EventValidationError:
        return False
    return True


def _update(**employee: Any) -> dict[str, Any]:
    return {"eventId": "ev-1", "type": "update", "employee": {"employeeId": "E1", **employee}}


AGREEMENT_CASES: list[dict[str, Any]] = [
    # event level: ids, types, dates, unknown fields
    {"eventId": "wd:2026.000123_x-1", "type": "update", "employee": {"employeeId": "E1"}},
    {"eventId": "", "type": "update", "employee": {"employeeId": "E1"}},
    {"eventId": "a" * 128, "type": "update", "employee": {"employeeId": "E1"}},
    {"eventId": "a" * 129, "type": "update", "employee": {"employeeId": "E1"}},
    {"eventId": "has space", "type": "update", "employee": {"employeeId": "E1"}},
    {"eventId": 42, "type": "update", "employee": {"employeeId": "E1"}},
    {"eventId": "ev-1", "type": "promotion", "employee": {"employeeId": "E1"}},
    {"eventId": "ev-1", "type": "update", "employee": {"employeeId": "E1"}, "extra": 1},
    {"eventId": "ev-1", "type": "update", "employee": {"employeeId": "E1", "nickname": "x"}},
    {"eventId": "ev-1", "type": "update"},
    {"eventId": "ev-1", "type": "update", "effectiveDate": "2026-12-01", "employee": {"employeeId": "E1"}},
    {"eventId": "ev-1", "type": "update", "effectiveDate": "2026-02-30", "employee": {"employeeId": "E1"}},
    {"eventId": "ev-1", "type": "update", "effectiveDate": "01.12.2026", "employee": {"employeeId": "E1"}},
    {"eventId": "ev-1", "type": "update", "effectiveDate": None, "employee": {"employeeId": "E1"}},
    {"eventId": "ev-1", "type": "update", "occurredAt": "2026-11-20T09:14:00Z", "employee": {"employeeId": "E1"}},
    {
        "eventId": "ev-1",
        "type": "update",
        "occurredAt": "2026-11-20T09:14:00.5+01:00",
        "employee": {"employeeId": "E1"},
    },
    {"eventId": "ev-1", "type": "update", "occurredAt": "2026-11-20T09:14:00", "employee": {"employeeId": "E1"}},
    {"eventId": "ev-1", "type": "update", "occurredAt": "2026-11-20", "employee": {"employeeId": "E1"}},
    # requirements that depend on the type
    {"eventId": "ev-1", "type": "hire", "employee": {"employeeId": "E1", "givenName": "A", "familyName": "B"}},
    {
        "eventId": "ev-1",
        "type": "hire",
        "effectiveDate": "2026-12-01",
        "employee": {"employeeId": "E1", "givenName": "A", "familyName": "B"},
    },
    {"eventId": "ev-1", "type": "hire", "effectiveDate": "2026-12-01", "employee": {"employeeId": "E1"}},
    {
        "eventId": "ev-1",
        "type": "rehire",
        "effectiveDate": "2026-12-01",
        "employee": {"employeeId": "E1", "givenName": "A", "familyName": None},
    },
    {"eventId": "ev-1", "type": "termination", "effectiveDate": "2026-12-31", "employee": {"employeeId": "E1"}},
    {"eventId": "ev-1", "type": "termination", "employee": {"employeeId": "E1"}},
    {"eventId": "ev-1", "type": "termination", "effectiveDate": None, "employee": {"employeeId": "E1"}},
    # employee fields with a shape the document states
    _update(),
    {"eventId": "ev-1", "type": "update", "employee": {"employeeId": "E1234567890123456"}},
    {"eventId": "ev-1", "type": "update", "employee": {"employeeId": "E.1"}},
    _update(managerEmployeeId="E_00-7"),
    _update(managerEmployeeId="E 7"),
    _update(givenName="N" * 64),
    _update(givenName="N" * 65),
    _update(givenName="  " + "N" * 64 + "\u3000"),  # lengths count after trimming
    _update(familyName="St. John", middleName="J.R.", givenName="García (Pepe)"),
    _update(jobTitle="\r" + "*" * 128),
    _update(jobTitle="\x1c" + "*" * 129),
    _update(department="\u2003 D" + "d" * 62 + " \t"),
    _update(postalCode=" " + "1" * 41 + " "),
    _update(timeZone=" Europe/Berlin "),
    _update(preferredLanguage="  de-DE  "),
    _update(businessPhone="   " + "1" * 40 + " " * 30),
    _update(jobTitle="T" * 128),
    _update(jobTitle="T" * 129),
    _update(department="D" * 64),
    _update(department="D" * 65),
    _update(costCenter="C" * 65),
    _update(postalCode="1" * 40),
    _update(postalCode="1" * 41),
    _update(country="DE"),
    _update(country="de"),
    _update(country="DEU"),
    _update(usageLocation="1A"),
    _update(mobilePhone="+49 151 0000000"),
    _update(businessPhone="+1 (555) 010-0100 ext. 12"),
    _update(businessPhone="call me"),
    _update(personalEmail="zoe.obrien@example.org"),
    _update(personalEmail="not an address"),
    _update(preferredLanguage="de-DE"),
    _update(preferredLanguage="zh-Hant-TW"),
    _update(preferredLanguage="sl-rozaj-biske"),
    _update(preferredLanguage="en-US-u-ca-gregory"),
    _update(preferredLanguage="x-whatever"),
    _update(preferredLanguage="de_DE"),
    _update(preferredLanguage="english"),
    _update(preferredLanguage="toolonglanguage"),
    _update(preferredLanguage="de-"),
    _update(attributes={"HireReason": "NewPosition", "Grade": 7, "Remote": True, "Note": None, "Fte": 0.8}),
    _update(attributes={"1bad": "x"}),
    _update(attributes={"Nested": {"a": 1}}),
    _update(attributes={"List": [1]}),
    _update(attributes={f"A{index}": index for index in range(51)}),
    _update(attributes={"Long": "v" * 1025}),
    _update(attributes=None),
    _update(attributes=["x"]),
]


@pytest.mark.parametrize("event", AGREEMENT_CASES)
def test_event_schema_and_parse_event_agree(document: dict[str, Any], event: dict[str, Any]) -> None:
    errors = _errors(_schema(document, "HrEvent"), event)
    assert (not errors) == _valid_by_code(event), errors or "the document accepts what the code rejects"


def test_request_examples_are_events_the_code_accepts(document: dict[str, Any]) -> None:
    checked = 0
    for method, path, operation in _operations(document):
        if "requestBody" not in operation or path.startswith(("/hris/", "/reconciliations")):
            # HR system webhooks carry the vendor's shape (tests/unit/test_intake_routes.py checks them); rosters
            # and apply selections are checked by tests/unit/test_reconciliation_routes.py.
            continue
        body, _ = _deref(document, _pointer("paths", path, method, "requestBody"))
        for media, content in body["content"].items():
            assert media == "application/json"
            schema_pointer = content["schema"]["$ref"].removeprefix("#")
            for name, example in content["examples"].items():
                value = example["value"]
                assert not _errors(_validator(document, schema_pointer), value), (path, name)
                if schema_pointer.endswith("/HrEventBatch"):
                    parsed = parse_batch(value)
                    assert not parsed.rejected and len(parsed.accepted) == len(value["events"])
                elif schema_pointer.endswith("/MappedDocument"):
                    mapping, payload = MAPPED_EXAMPLES[name]
                    assert value == json.loads((EXAMPLES / payload).read_text(encoding="utf-8")), name
                    mapped = Mapping.load_file(EXAMPLES / mapping).apply(value)
                    assert mapped.events and all(item.validate() for item in mapped.events)
                else:
                    assert parse_event(value).to_json()["eventId"] == value["eventId"]
                checked += 1
    assert checked >= 4


def test_the_hire_example_is_the_one_docs_design_md_shows(document: dict[str, Any]) -> None:
    examples = document["components"]["requestBodies"]["HrEvent"]["content"]["application/json"]["examples"]
    hire = examples["hire"]["value"]
    assert set(hire["employee"]) == {field.alias for field in Employee.model_fields.values()}
    assert (hire["eventId"], hire["employee"]["givenName"], hire["employee"]["familyName"]) == (
        "wd-2026-000123",
        "Zoë",
        "O'Brien-Müller",
    )


# -- enums the document shares with the workflows ---------------------------------------------------------------


def test_stage_enum_is_the_contract(document: dict[str, Any]) -> None:
    assert document["components"]["schemas"]["Stage"]["enum"] == list(c.STAGES)


def test_runtime_status_enum_is_the_durable_sdk_enum(document: dict[str, Any]) -> None:
    enum = document["components"]["schemas"]["RuntimeStatus"]["enum"]
    assert enum == [status.value for status in df.OrchestrationRuntimeStatus] + [None]


def test_action_enum_is_every_decision_the_planner_can_make(document: dict[str, Any]) -> None:
    actions = set()
    for event_type in EVENT_TYPES:
        for person in (None, {"accountEnabled": True}, {"accountEnabled": False}):
            for creates_missing in (False, True):
                try:
                    actions.add(decide_action(event_type, person, update_creates_missing=creates_missing)[0])
                except c.WorkflowFailed:
                    continue
    assert set(document["components"]["schemas"]["Action"]["enum"]) == actions
    assert actions >= set(EVENT_TYPES), "the status type field reports event types and actions alike"


def _literals(node: ast.expr) -> set[str]:
    """The string literals an argument can evaluate to: `"Code"`, `str(x or "Fallback")`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.BoolOp):
        return set().union(*(_literals(value) for value in node.values))
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "str" and node.args:
        return _literals(node.args[0])
    return set()


def _calls_to(name: str) -> Iterator[ast.Call]:
    for source in (REPO / "provisioning").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                callee = node.func
                called = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", None)
                if called == name and node.args:
                    yield node


def test_outcome_enum_is_every_outcome_an_event_finishes_with(document: dict[str, Any]) -> None:
    outcomes = set().union(*(_literals(call.args[1]) for call in _calls_to("_finish")))
    # A change to a pending hire ends through pending_hire._after(run, answer, outcome).
    outcomes |= set().union(*(_literals(call.args[2]) for call in _calls_to("_after")))
    assert set(document["components"]["schemas"]["Outcome"]["enum"]) == outcomes


def test_every_failure_code_the_workflows_raise_is_documented(document: dict[str, Any]) -> None:
    codes = set().union(*(_literals(call.args[0]) for call in _calls_to("WorkflowFailed")))
    unexpected = c.parse_failure("Orchestrator function 'hr_event' failed: boom")
    assert unexpected is not None
    codes.add(unexpected["code"])
    documented = document["components"]["schemas"]["Failure"]["properties"]["code"]["examples"]
    assert set(documented) == codes


# -- what the handlers really answer -----------------------------------------------------------------------------


class FakeDurableClient:
    """The Durable client's status store: instances by id, as the host's management API would return them."""

    def __init__(self) -> None:
        self.instances: dict[str, DurableOrchestrationStatus] = {}
        self.started: list[tuple[str, str, Any]] = []
        self.raised: list[tuple[str, str, Any]] = []
        self.signals: list[tuple[str, str, Any]] = []

    def put(
        self,
        instance_id: str,
        runtime_status: str,
        *,
        custom: Any = None,
        input_: Any = None,
        output: Any = None,
    ) -> None:
        self.instances[instance_id] = DurableOrchestrationStatus(
            name=c.HR_BATCH if instance_id.startswith(c.BATCH_INSTANCE_PREFIX) else c.HR_EVENT,
            instanceId=instance_id,
            createdTime="2026-11-20T09:14:03Z",
            lastUpdatedTime="2026-11-20T09:15:41Z",
            input=input_,
            output=output,
            runtimeStatus=runtime_status,
            customStatus=custom,
        )

    async def get_status(self, instance_id: str, *_: Any, **__: Any) -> DurableOrchestrationStatus | None:
        return self.instances.get(instance_id)

    async def start_new(self, name: str, instance_id: str, payload: Any) -> str:
        self.started.append((name, instance_id, payload))
        self.put(instance_id, "Pending", input_=payload)
        return instance_id

    async def raise_event(self, instance_id: str, name: str, data: Any) -> None:
        self.raised.append((instance_id, name, data))

    async def signal_entity(self, entity: Any, operation: str, data: Any = None) -> None:
        self.signals.append((str(entity), operation, data))

    async def get_status_by(self, low: Any, high: Any, statuses: Any, prefix: str) -> list[DurableOrchestrationStatus]:
        wanted = {status.value for status in statuses or []}
        return [
            status
            for instance_id, status in self.instances.items()
            if instance_id.startswith(prefix)
            and (not wanted or status.runtime_status.value in wanted)
            and (low is None or status.created_time >= low)
            and (high is None or status.created_time <= high)
        ]


class FakeSecrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, name: str) -> str:
        if name not in self.values:
            raise SecretUnavailable(name, "not found")
        return self.values[name]


class FakeCredential:
    """A Graph token credential whose token carries the given application roles."""

    def __init__(self, roles: list[str]) -> None:
        self.roles = roles

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        def segment(data: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

        claims = {"tid": "tenant-1", "appid": "app-1", "roles": self.roles}
        return AccessToken(f"{segment({'alg': 'none'})}.{segment(claims)}.sig", int(time.time()) + 3600)


def _settings(**overrides: str) -> Settings:
    return Settings.from_env({**REQUIRED_SETTINGS, **overrides})


def _runtime(settings: Settings, *, secrets: FakeSecrets | None = None, roles: list[str] | None = None) -> Any:
    return SimpleNamespace(
        settings=settings,
        secrets=secrets,
        credential=FakeCredential(roles or []),
        graph=object(),
        notifier=Notifier(settings.it_notify_address, settings.templates_dir),
    )


@pytest.fixture
def use_runtime(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], None]:
    """Point the HTTP layer at a stand-in runtime (settings plus the Graph / Key Vault edges)."""

    def use(rt: Any) -> None:
        if isinstance(rt, Exception):

            def broken() -> Any:
                raise rt

            monkeypatch.setattr(runtime, "current", broken)
        else:
            monkeypatch.setattr(runtime, "current", lambda: rt)

    use(_runtime(_settings()))
    return use


def _request(
    method: str,
    route: str,
    body: object = None,
    *,
    raw: bytes | None = None,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    route_params: dict[str, str] | None = None,
) -> func.HttpRequest:
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode("utf-8"))
    return func.HttpRequest(
        method=method,
        url=f"{BASE_URL}/api/{route}",
        headers={"Content-Type": content_type, **(headers or {})},
        params={},
        route_params=route_params or {},
        body=data,
    )


def _call(name: str, req: func.HttpRequest, client: FakeDurableClient | None = None) -> func.HttpResponse:
    """Invoke the registered function's own code, as the host would after binding its inputs."""
    function = next(f for f in _registered_functions() if f.get_function_name() == name)
    handler = inspect.unwrap(function.get_user_function())  # past the SDK's client-binding wrapper
    result = handler(req, client) if client is not None else handler(req)
    response: func.HttpResponse = asyncio.run(result) if inspect.iscoroutine(result) else result
    return response


def _assert_documented(document: dict[str, Any], method: str, path: str, response: func.HttpResponse) -> Any:
    """The response's status, media type, headers and body are what the document promises for this operation."""
    responses = document["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method.upper()} {path} answered {status}, which the document does not list"
    documented, pointer = _deref(document, _pointer("paths", path, method, "responses", status))
    media = response.mimetype
    assert media in documented.get("content", {}), f"{status} is documented without {media}"
    body = json.loads(response.get_body())
    errors = _errors(_validator(document, f"{pointer}{_pointer('content', media, 'schema')}"), body)
    assert not errors, (status, body, errors)
    headers = documented.get("headers", {})
    for name, header in headers.items():
        if header.get("required") is False:  # sent in some cases only (Retry-After on a task hub outage)
            continue
        assert name in response.headers, f"{status} documents header {name}, which the response lacks"
    if "Location" in response.headers:
        assert "Location" in headers, f"{status} sends Location, which the document does not list"
        assert response.headers["Location"] == body["statusUrl"]
    return body


HIRE: dict[str, Any] = {
    "eventId": "wd-2026-000123",
    "type": "hire",
    "effectiveDate": "2026-12-01",
    "occurredAt": "2026-11-20T09:14:00Z",
    "employee": {
        "employeeId": "E10042",
        "givenName": "Zoë",
        "familyName": "O'Brien-Müller",
        "managerEmployeeId": "E00007",
        "country": "DE",
        "timeZone": "Europe/Berlin",
        "attributes": {"HireReason": "NewPosition"},
    },
}
TERMINATION: dict[str, Any] = {
    "eventId": "wd-2026-000300",
    "type": "termination",
    "effectiveDate": "2026-12-31",
    "employee": {"employeeId": "E20001"},
}
UPDATE: dict[str, Any] = {"eventId": "wd-2026-000200", "type": "update", "employee": {"employeeId": "E20002"}}


def test_submit_event_answers_as_documented(document: dict[str, Any], use_runtime: Callable[[Any], None]) -> None:
    client = FakeDurableClient()
    accepted = _assert_documented(
        document, "post", "/hr-events", _call("submit_event", _request("POST", "hr-events", HIRE), client)
    )
    assert accepted["status"] == "accepted" and [name for name, _, _ in client.started] == [c.HR_EVENT]

    client.put(accepted["id"], "Running", custom={"stage": "scheduled"}, input_=client.started[0][2])
    again = _call("submit_event", _request("POST", "hr-events", HIRE), client)
    assert again.status_code == 200
    assert _assert_documented(document, "post", "/hr-events", again)["status"] == "scheduled"

    changed = {**HIRE, "employee": {**HIRE["employee"], "jobTitle": "Chief Analyst"}}
    conflict = _call("submit_event", _request("POST", "hr-events", changed), client)
    assert conflict.status_code == 409
    assert _assert_documented(document, "post", "/hr-events", conflict)["errors"][0]["field"] == "eventId"

    client.put(accepted["id"], "Failed", output="Orchestrator function 'hr_event' failed: boom")
    assert _call("submit_event", _request("POST", "hr-events", changed), client).status_code == 202
    assert [operation for _, operation, _ in client.signals] == ["register-hire", "register-hire"]

    invalid = {**HIRE, "employee": {"employeeId": "E10042"}}
    for req, status in [
        (_request("POST", "hr-events", invalid), 400),
        (_request("POST", "hr-events", raw=b"{not json"), 400),
        (_request("POST", "hr-events", raw=b"\xff\xfe"), 400),
        (_request("POST", "hr-events", HIRE, content_type="text/plain"), 415),
        (_request("POST", "hr-events", raw=b" " * (MAX_BODY_BYTES + 1)), 413),
    ]:
        response = _call("submit_event", req, client)
        assert response.status_code == status
        _assert_documented(document, "post", "/hr-events", response)

    use_runtime(SettingsError(["UPN_DOMAIN: required"]))
    misconfigured = _call("submit_event", _request("POST", "hr-events", HIRE), client)
    assert misconfigured.status_code == 503
    _assert_documented(document, "post", "/hr-events", misconfigured)


def test_signed_submission_answers_as_documented(document: dict[str, Any], use_runtime: Callable[[Any], None]) -> None:
    settings = _settings(HR_SIGNING_SECRET_NAME="hr-signing", KEY_VAULT_URL="https://kv-hr.vault.azure.net/")
    use_runtime(_runtime(settings, secrets=FakeSecrets({"hr-signing": "s3cret"})))
    client = FakeDurableClient()
    body = json.dumps(TERMINATION).encode("utf-8")
    signed = signing.signed_headers("s3cret", "POST", f"{BASE_URL}/api/hr-events", body)

    unsigned = _call("submit_event", _request("POST", "hr-events", raw=body), client)
    assert unsigned.status_code == 401
    _assert_documented(document, "post", "/hr-events", unsigned)
    good = _call("submit_event", _request("POST", "hr-events", raw=body, headers=signed), client)
    assert good.status_code == 202
    _assert_documented(document, "post", "/hr-events", good)

    replayed = _call("submit_event", _request("POST", "hr-events", raw=body, headers=signed), client)
    assert replayed.status_code == 401 and "replay" in json.loads(replayed.get_body())["detail"]
    _assert_documented(document, "post", "/hr-events", replayed)
    superscript = {**signed, signing.TIMESTAMP_HEADER: signed[signing.TIMESTAMP_HEADER] + "²"}
    refused = _call("submit_event", _request("POST", "hr-events", raw=body, headers=superscript), client)
    assert refused.status_code == 401  # not an unhandled ValueError (a 500) from int("…²")

    use_runtime(_runtime(settings, secrets=FakeSecrets({})))
    no_secret = _call("submit_batch", _request("POST", "hr-events/batch", raw=body, headers=signed), client)
    assert no_secret.status_code == 503
    _assert_documented(document, "post", "/hr-events/batch", no_secret)


def test_with_signing_on_every_route_refuses_an_unsigned_call(
    document: dict[str, Any], use_runtime: Callable[[Any], None]
) -> None:
    settings = _settings(HR_SIGNING_SECRET_NAME="hr-signing", KEY_VAULT_URL="https://kv-hr.vault.azure.net/")
    use_runtime(_runtime(settings, secrets=FakeSecrets({"hr-signing": "s3cret"})))
    client = FakeDurableClient()
    client.put("hr-held", "Running", custom=_progress("held", TERMINATION))
    for name, method, path, route, params, body in [
        ("rescind_event", "delete", "/hr-events/{id}", "hr-events/hr-held", {"id": "hr-held"}, None),
        ("approve_event", "post", "/hr-events/{id}/approve", "hr-events/hr-held/approve", {"id": "hr-held"}, None),
        ("event_status", "get", "/hr-events/{id}", "hr-events/hr-held", {"id": "hr-held"}, None),
        ("preview_event", "post", "/hr-events/preview", "hr-events/preview", {}, HIRE),
        ("list_events", "get", "/hr-events", "hr-events", {}, None),
    ]:
        unsigned = _call(name, _request(method.upper(), route, body, route_params=params), client)
        assert unsigned.status_code == 401, name
        _assert_documented(document, method, path, unsigned)
    assert client.raised == []
    url = f"{BASE_URL}/api/hr-events/hr-held/approve"
    headers = signing.signed_headers("s3cret", "POST", url)
    approved = _call("approve_event", _request("POST", "hr-events/hr-held/approve", headers=headers,
                                               route_params={"id": "hr-held"}), client)  # fmt: skip
    assert approved.status_code == 200
    elsewhere = _call("rescind_event", _request("DELETE", "hr-events/hr-held", headers=headers,
                                                route_params={"id": "hr-held"}), client)  # fmt: skip
    assert elsewhere.status_code == 401, "a signature for approve is worth nothing for rescind"
    listing_url = f"{BASE_URL}/api/hr-events?type=termination"
    listing_headers = signing.signed_headers("s3cret", "GET", listing_url)

    tampered = func.HttpRequest(
        method="GET", url=f"{BASE_URL}/api/hr-events?type=hire", headers=listing_headers, params={}, body=b""
    )
    assert _call("list_events", tampered, client).status_code == 401, "the query string is signed"
    signed = func.HttpRequest(
        method="GET", url=listing_url, headers=listing_headers, params={"type": "termination"}, body=b""
    )
    assert _call("list_events", signed, client).status_code == 200


def test_an_oversized_body_is_refused_before_it_is_read(
    document: dict[str, Any], use_runtime: Callable[[Any], None]
) -> None:
    class Unread(func.HttpRequest):
        def get_body(self) -> bytes:
            raise AssertionError("the body was read although its declared length is over the limit")

    req = Unread(
        method="POST",
        url=f"{BASE_URL}/api/hr-events",
        headers={"Content-Type": "application/json", "Content-Length": str(MAX_BODY_BYTES + 1)},
        params={},
        route_params={},
        body=b"{}",
    )
    response = _call("submit_event", req, FakeDurableClient())
    assert response.status_code == 413
    _assert_documented(document, "post", "/hr-events", response)


def test_approve_and_rescind_by_an_entra_authenticated_approver(
    use_runtime: Callable[[Any], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(
        HR_SIGNING_SECRET_NAME="hr-signing",
        KEY_VAULT_URL="https://kv-hr.vault.azure.net/",
        APPROVER_APP_ROLE="HrProvisioning.Approve",
    )
    use_runtime(_runtime(settings, secrets=FakeSecrets({"hr-signing": "s3cret"})))
    client = FakeDurableClient()
    client.put("hr-held", "Running", custom={**_progress("held", TERMINATION), "hold": 2})

    def principal(*roles: str) -> dict[str, str]:
        claims = [{"typ": "roles", "val": role} for role in roles]
        encoded = base64.b64encode(json.dumps({"auth_typ": "aad", "claims": claims}).encode()).decode()
        return {"X-MS-CLIENT-PRINCIPAL": encoded}

    def approve(headers: dict[str, str]) -> int:
        req = _request("POST", "hr-events/hr-held/approve", headers=headers, route_params={"id": "hr-held"})
        return _call("approve_event", req, client).status_code

    monkeypatch.delenv("WEBSITE_AUTH_ENABLED", raising=False)
    assert approve(principal("HrProvisioning.Approve")) == 503, "without App Service authentication it is forged"
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")
    assert approve(principal("Reader")) == 403
    assert approve({}) == 401
    assert approve(principal("HrProvisioning.Approve")) == 200
    assert client.raised[-1][:2] == ("hr-held", c.approve_event(2)) == ("hr-held", "approve-2")


def test_approving_a_batch_releases_every_held_event_of_it(use_runtime: Callable[[Any], None]) -> None:
    client = FakeDurableClient()
    jobs = [{"instanceId": f"hr-b{index}"} for index in range(3)]
    client.put("batch-9", "Completed", custom={"stage": "started"}, input_={"jobs": jobs})
    client.put("hr-b0", "Running", custom=_progress("held", TERMINATION))
    client.put("hr-b1", "Running", custom={**_progress("held", TERMINATION), "hold": 2})
    client.put("hr-b2", "Running", custom=_progress("scheduled", TERMINATION))
    response = _call("approve_event", _request("POST", "x", route_params={"id": "batch-9"}), client)
    assert response.status_code == 200
    assert [(instance, name) for instance, name, _ in client.raised] == [("hr-b0", "approve"), ("hr-b1", "approve-2")]


def test_submit_batch_answers_as_documented(document: dict[str, Any], use_runtime: Callable[[Any], None]) -> None:
    client = FakeDurableClient()
    client.put("hr-wd-2026-000200", "Running", custom={"stage": "scheduled"})
    broken = {"eventId": "wd-2026-000301", "type": "termination", "employee": {"employeeId": "E3"}}
    batch = {"events": [HIRE, UPDATE, broken, HIRE]}
    started = _call("submit_batch", _request("POST", "hr-events/batch", batch), client)
    assert started.status_code == 202
    body = _assert_documented(document, "post", "/hr-events/batch", started)
    assert (body["accepted"], body["duplicates"], [r["index"] for r in body["rejected"]]) == (
        1,
        ["wd-2026-000200"],
        [2, 3],
    )

    client.put("hr-wd-2026-000123", "Running", custom={"stage": "scheduled"})
    nothing_new = _call("submit_batch", _request("POST", "hr-events/batch", {"events": [HIRE, UPDATE]}), client)
    assert nothing_new.status_code == 200 and "Location" not in nothing_new.headers
    _assert_documented(document, "post", "/hr-events/batch", nothing_new)

    for payload, status in [
        ({"events": [broken]}, 400),
        ({"events": []}, 400),
        ({"items": [HIRE]}, 400),
        ([HIRE], 400),
        ({"events": [UPDATE] * (MAX_BATCH_EVENTS + 1)}, 413),
    ]:
        response = _call("submit_batch", _request("POST", "hr-events/batch", payload), client)
        assert response.status_code == status, response.get_body()[:300]
        _assert_documented(document, "post", "/hr-events/batch", response)


def _event_input(event: dict[str, Any]) -> dict[str, Any]:
    return {"event": parse_event(event).to_json(), "options": c.WorkflowOptions().to_dict()}


def _progress(stage: str, event: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Custom status as workflows.progress.Progress publishes it."""
    return {
        "stage": stage,
        "eventType": event["type"],
        "employeeId": event["employee"]["employeeId"],
        "attempt": 1,
        "since": "2026-11-20T09:15:41+00:00",
        **extra,
    }


TIMINGS = {"acceptedAt": "2026-11-20T09:14:03+00:00", "completedAt": "2026-11-24T07:31:12+00:00"}
# Results as hr_event._finish builds them, one per outcome.
OUTPUTS: list[dict[str, Any]] = [
    {
        "outcome": "provisioned",
        "userPrincipalName": "zoe.obrien-muller@contoso.com",
        "mail": "zoe.obrien-muller@contoso.com",
        "objectId": "6f1c2a9e-3d4b-4c5a-9e8f-0a1b2c3d4e5f",
        "samAccountName": "zobrienmul",
        "credential": {
            "method": "tap",
            "recipients": ["manager"],
            "id": "tap-1",
            "startDateTime": "2026-12-01T07:00:00+00:00",
            "lifetimeInMinutes": 480,
            "isUsableOnce": False,
        },
        "notified": ["manager", "it", "manager (first sign-in pass)"],
        "warnings": [],
        "timings": {**TIMINGS, "uploadedAt": TIMINGS["acceptedAt"], "syncedAt": TIMINGS["completedAt"]},
    },
    {
        "outcome": "provisioned",
        "userPrincipalName": "a@contoso.com",
        "credential": {"error": {"code": "PasswordNotSupportedForSyncedUser", "message": "use tap"}},
        "notified": [],
        "warnings": ["manager E00007 was not found in Entra; notifications go to IT"],
        "timings": TIMINGS,
    },
    {
        "outcome": "updated",
        "userPrincipalName": "a@contoso.com",
        "objectId": "id-1",
        "managerChanged": False,
        "notified": [],
        "warnings": [],
        "timings": TIMINGS,
    },
    {
        "outcome": "disabled",
        "objectId": "id-1",
        "sessionsRevoked": True,
        "notified": [],
        "warnings": [],
        "timings": TIMINGS,
    },
    {"outcome": "cancelled", "warnings": [], "timings": TIMINGS},
    {"outcome": "superseded", "warnings": [], "timings": TIMINGS},
]


def test_event_status_answers_as_documented(document: dict[str, Any], use_runtime: Callable[[Any], None]) -> None:
    client = FakeDurableClient()
    ids = []
    for index, output in enumerate(OUTPUTS):
        instance_id = f"hr-done-{index}"
        custom = _progress("completed", HIRE, userPrincipalName="a@contoso.com")
        client.put(instance_id, "Completed", custom=custom, input_=_event_input(HIRE), output=output)
        ids.append(instance_id)
    failure = c.WorkflowFailed(
        "UnknownEmployee", "No Entra account has this employeeId, so there is nothing to update."
    )
    client.put(
        "hr-failed",
        "Failed",
        custom=_progress("failed", UPDATE, detail=f"{failure.code}: {failure.message}"),
        input_=_event_input(UPDATE),
        output=f"Orchestrator function 'hr_event' failed: {failure}",
    )
    client.put("hr-failed-silently", "Failed", input_=_event_input(UPDATE), output=None)
    client.put("hr-terminated", "Terminated", input_=_event_input(TERMINATION))
    client.put("hr-pending", "Pending", input_=_event_input(TERMINATION))
    client.put(
        "hr-retyped",
        "Running",
        custom={**_progress("names", HIRE, userPrincipalName="a@contoso.com"), "eventType": "rehire-new"},
        input_=_event_input(HIRE),
    )
    client.put("hr-wd-2026-000300", "Running", custom=_progress("scheduled", TERMINATION, detail="until x"))
    ids += ["hr-failed", "hr-failed-silently", "hr-terminated", "hr-pending", "hr-retyped", "wd-2026-000300"]

    for raw_id in ids:
        req = _request("GET", f"hr-events/{quote(raw_id)}", route_params={"id": raw_id})
        response = _call("event_status", req, client)
        assert response.status_code == 200, raw_id
        body = _assert_documented(document, "get", "/hr-events/{id}", response)
        assert "kind" not in body
    failed = json.loads(
        _call("event_status", _request("GET", "x", route_params={"id": "hr-failed"}), client).get_body()
    )
    assert failed["error"] == {"code": failure.code, "message": failure.message}

    for raw_id in ("nobody", "", "x" * 301):
        missing = _call("event_status", _request("GET", "x", route_params={"id": raw_id}), client)
        assert missing.status_code == 404
        _assert_documented(document, "get", "/hr-events/{id}", missing)


def test_batch_status_answers_as_documented(document: dict[str, Any], use_runtime: Callable[[Any], None]) -> None:
    client = FakeDurableClient()
    jobs = [{"instanceId": f"hr-b{index}", "event": parse_event(HIRE).to_json()} for index in range(4)]
    client.put(
        "batch-0123",
        "Completed",
        custom={"stage": "started", "events": 4, "immediate": 4, "started": 4},
        input_={"batchId": "batch-0123", "options": {}, "jobs": jobs},
        output={"events": 4, "started": 4},
    )
    client.put("hr-b0", "Completed", custom=_progress("completed", HIRE), output=OUTPUTS[0])
    client.put("hr-b1", "Completed", custom=_progress("completed", HIRE), output=OUTPUTS[2])
    client.put("hr-b2", "Running", custom=_progress("awaiting-sync", HIRE))
    response = _call("event_status", _request("GET", "x", route_params={"id": "batch-0123"}), client)
    body = _assert_documented(document, "get", "/hr-events/{id}", response)
    assert body["kind"] == "batch"
    assert body["stages"] == {"completed": 2, "awaiting-sync": 1, "accepted": 1}
    assert body["outcomes"] == {"provisioned": 1, "updated": 1}
    assert (body["done"], body["finished"], body["runtimeStatus"]) == (False, 2, "Running")

    client.put("hr-b2", "Failed", custom=_progress("failed", HIRE), output="Orchestrator function failed: x")
    client.put("hr-b3", "Completed", custom=_progress("superseded", HIRE), output=OUTPUTS[-1])
    response = _call("event_status", _request("GET", "x", route_params={"id": "batch-0123"}), client)
    body = _assert_documented(document, "get", "/hr-events/{id}", response)
    assert (body["done"], body["finished"], body["runtimeStatus"]) == (True, 4, "Completed")
    assert body["outcomes"] == {"provisioned": 1, "updated": 1, "failed": 1, "superseded": 1}


def test_a_running_instance_never_shows_a_final_stage(
    document: dict[str, Any], use_runtime: Callable[[Any], None]
) -> None:
    client = FakeDurableClient()
    client.put("hr-x", "Running", custom=_progress("completed", HIRE), input_=_event_input(HIRE))
    response = _call("event_status", _request("GET", "x", route_params={"id": "hr-x"}), client)
    body = _assert_documented(document, "get", "/hr-events/{id}", response)
    assert body["stage"] == "notifying" and "output" not in body


def test_list_events_answers_as_documented(document: dict[str, Any], use_runtime: Callable[[Any], None]) -> None:
    client = FakeDurableClient()
    for index, output in enumerate(OUTPUTS[:3]):
        custom = {**_progress("completed", HIRE), "timeZone": {"name": "Europe/Berlin", "source": "event"}}
        client.put(f"hr-done-{index}", "Completed", custom=custom, input_=_event_input(HIRE), output=output)
    client.put("hr-wd-2026-000300", "Running", custom=_progress("scheduled", TERMINATION, detail="until x"))
    client.put("batch-0123", "Completed", input_={"jobs": []})

    def listing(**params: str) -> Any:
        req = _request("GET", "hr-events")
        req = func.HttpRequest(method="GET", url=req.url, headers={}, params=params, body=b"")
        response = _call("list_events", req, client)
        return _assert_documented(document, "get", "/hr-events", response)

    everything = listing()
    assert len(everything["events"]) == 4 and everything["nextCursor"] is None
    assert {item["id"] for item in everything["events"]} >= {"hr-done-0", "hr-wd-2026-000300"}
    scheduled = listing(stage="scheduled")["events"]
    assert [(item["id"], item["eventId"]) for item in scheduled] == [("hr-wd-2026-000300", "wd-2026-000300")]
    assert listing(type="termination", employeeId="E20001")["events"][0]["stage"] == "scheduled"
    first = listing(limit="3")
    assert len(first["events"]) == 3 and first["nextCursor"]
    rest = listing(limit="3", cursor=first["nextCursor"])
    assert len(rest["events"]) == 1 and rest["nextCursor"] is None
    req = func.HttpRequest(method="GET", url=f"{BASE_URL}/api/hr-events", headers={}, params={"stage": "x"}, body=b"")
    invalid = _call("list_events", req, client)
    assert invalid.status_code == 400
    _assert_documented(document, "get", "/hr-events", invalid)


def test_rescind_and_approve_answer_as_documented(document: dict[str, Any], use_runtime: Callable[[Any], None]) -> None:
    client = FakeDurableClient()
    client.put("hr-waiting", "Running", custom=_progress("scheduled", TERMINATION))
    client.put("hr-held", "Running", custom=_progress("held", TERMINATION))
    client.put("hr-uploading", "Running", custom=_progress("uploading", TERMINATION))
    client.put("batch-1", "Completed", custom={"stage": "started"}, input_={"jobs": []})

    for operation, path, name in [
        ("delete", "/hr-events/{id}", "rescind_event"),
        ("post", "/hr-events/{id}/approve", "approve_event"),
    ]:
        outcomes = {}
        for raw_id in ("hr-waiting", "hr-held", "hr-uploading", "batch-1", "nobody"):
            response = _call(name, _request(operation.upper(), "x", route_params={"id": raw_id}), client)
            _assert_documented(document, operation, path, response)
            outcomes[raw_id] = response.status_code
        expected_ok = {"hr-waiting", "hr-held"} if name == "rescind_event" else {"hr-held"}
        assert {raw_id for raw_id, status in outcomes.items() if status == 200} == expected_ok
        assert outcomes["nobody"] == 404
    assert [(instance, event) for instance, event, _ in client.raised] == [
        ("hr-waiting", c.rescind_event("scheduled")),
        ("hr-held", c.rescind_event("held")),
        ("hr-held", c.EVENT_APPROVE),
    ]


@pytest.fixture
def directory_edge(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """Stand-ins for the read-only Graph lookups the preview makes."""
    state = SimpleNamespace(person=None, error=None)

    def find_person(graph: Any, employee_id: str) -> dict[str, Any] | None:
        if state.error is not None:
            raise state.error
        return state.person  # type: ignore[no-any-return]

    def find_free_names(graph: Any, policy: Any, employee: dict[str, Any], **_: Any) -> dict[str, Any]:
        names = {
            "userPrincipalName": "zoe.obrien-muller@contoso.com",
            "mail": "zoe.obrien-muller@contoso.com",
            "mailNickname": "zoe.obrien-muller",
            "samAccountName": "zobrienmul",
        }
        return {"candidates": [names], "warnings": ["zoe.obrien-muller@contoso.com was picked after 1 taken name"]}

    monkeypatch.setattr(directory, "find_person", find_person)
    monkeypatch.setattr(directory, "find_free_names", find_free_names)
    return state


def test_preview_answers_as_documented(
    document: dict[str, Any], use_runtime: Callable[[Any], None], directory_edge: SimpleNamespace
) -> None:
    hire = _call("preview_event", _request("POST", "hr-events/preview", HIRE), FakeDurableClient())
    assert hire.status_code == 200
    assert _assert_documented(document, "post", "/hr-events/preview", hire)["action"] == "hire"

    directory_edge.person = {
        "id": "id-1",
        "employeeId": "E20001",
        "accountEnabled": True,
        "userPrincipalName": "a@contoso.com",
        "mail": "a@contoso.com",
        "givenName": "A",
        "surname": "B",
        "onPremisesSamAccountName": "ab",
        "managerEmployeeId": "E00007",
    }
    leave = _call("preview_event", _request("POST", "hr-events/preview", TERMINATION), FakeDurableClient())
    assert leave.status_code == 200
    assert _assert_documented(document, "post", "/hr-events/preview", leave)["action"] == "termination"

    directory_edge.person = None
    unknown = _call("preview_event", _request("POST", "hr-events/preview", UPDATE), FakeDurableClient())
    assert unknown.status_code == 422
    _assert_documented(document, "post", "/hr-events/preview", unknown)

    directory_edge.error = GraphError(503, "serviceUnavailable", "Graph is unavailable")
    outage = _call("preview_event", _request("POST", "hr-events/preview", UPDATE), FakeDurableClient())
    assert outage.status_code == 502
    _assert_documented(document, "post", "/hr-events/preview", outage)

    for req, status in [
        (_request("POST", "hr-events/preview", {**UPDATE, "type": "promotion"}), 400),
        (_request("POST", "hr-events/preview", UPDATE, content_type="application/xml"), 415),
        (_request("POST", "hr-events/preview", raw=b"[" * (MAX_BODY_BYTES + 1)), 413),
    ]:
        response = _call("preview_event", req, FakeDurableClient())
        assert response.status_code == status
        _assert_documented(document, "post", "/hr-events/preview", response)


def test_health_answers_as_documented(
    document: dict[str, Any], use_runtime: Callable[[Any], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in REQUIRED_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("HR_SIGNING_SECRET_NAME", raising=False)
    misconfigured = _call("health", _request("GET", "health"))
    assert misconfigured.status_code == 503
    body = _assert_documented(document, "get", "/health", misconfigured)
    assert body["problems"] and all(problem.startswith("setting ") for problem in body["problems"])
    details = _call("health_details", _request("GET", "health/details"))
    assert "checks" not in _assert_documented(document, "get", "/health/details", details)

    for name, value in REQUIRED_SETTINGS.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    use_runtime(_runtime(settings, roles=[]))
    missing = _call("health", _request("GET", "health"))
    assert missing.status_code == 503
    public = _assert_documented(document, "get", "/health", missing)
    assert set(public) == {"status", "problems"}, "the verdict only: no tenant, app id, vault or secret names"
    for fact in ("tenant-1", "app-1", "contoso.com", "hr-provisioning@contoso.com"):
        assert fact not in json.dumps(public)
    detailed = _call("health_details", _request("GET", "health/details"))
    assert _assert_documented(document, "get", "/health/details", detailed)["checks"]["graph"]["missingRoles"]

    roles = sorted(required_roles(settings.credential_method, settings.revoke_sessions))
    use_runtime(_runtime(settings, roles=roles))
    healthy = _call("health", _request("GET", "health"))
    assert healthy.status_code == 200, healthy.get_body()
    assert _assert_documented(document, "get", "/health", healthy) == {"status": "ok", "problems": []}


def test_problem_schema_is_problem_details(document: dict[str, Any]) -> None:
    problem = problem_details(400, "Invalid HR event", "One or more fields are invalid.", [FieldError("eventId", "x")])
    assert not _errors(_schema(document, "Problem"), problem)
    assert set(document["components"]["schemas"]["Problem"]["required"]) == set(problem)
    assert not _errors(_schema(document, "Problem"), problem_details(409, "Not held", "The event is not held."))


def test_every_documented_example_matches_its_schema(document: dict[str, Any]) -> None:
    checked = 0
    for method, path, operation in _operations(document):
        for status in operation["responses"]:
            response, pointer = _deref(document, _pointer("paths", path, method, "responses", status))
            for media, content in response.get("content", {}).items():
                validator = _validator(document, f"{pointer}{_pointer('content', media, 'schema')}")
                for name, example in content.get("examples", {}).items():
                    assert not _errors(validator, example["value"]), (method, path, status, name)
                    checked += 1
    assert checked >= 8


def test_mapped_webhook_answers_as_documented(
    document: dict[str, Any], use_runtime: Callable[[Any], None], tmp_path: Path
) -> None:
    hire = json.loads((EXAMPLES / "successfactors-hire.json").read_text(encoding="utf-8"))
    mapping_file = str(EXAMPLES / "successfactors.yaml")
    settings = _settings(
        MAPPED_WEBHOOK_MAPPING_FILE=mapping_file,
        MAPPED_WEBHOOK_AUTH="token",
        MAPPED_WEBHOOK_SECRET_NAME="hr-mapped-token",
        KEY_VAULT_URL="https://kv-hr.vault.azure.net/",
    )
    use_runtime(_runtime(settings, secrets=FakeSecrets({"hr-mapped-token": "t0ken-value"})))
    client = FakeDurableClient()
    token = {"Authorization": "Bearer t0ken-value"}

    def post(body: object = hire, **options: Any) -> func.HttpResponse:
        response = _call("mapped_webhook", _request("POST", "hris/mapped", body, **options), client)
        _assert_documented(document, "post", "/hris/mapped", response)
        return response

    started = post(headers=token)
    assert started.status_code == 202, started.get_body()
    assert [name for name, _, _ in client.started] == [c.HR_EVENT]
    again = post(headers=token)
    assert again.status_code == 200 and json.loads(again.get_body())["events"][0]["status"] == "accepted"

    unfit = json.loads(json.dumps(hire))
    unfit["employeeEvent"]["jobInfo"]["countryOfCompany"] = "BRA"
    invalid = json.loads(json.dumps(hire))
    invalid["employeeEvent"]["personalInfo"]["lastName"] = None
    wrong = post(headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
    for response, status in [
        (post(unfit, headers=token), 400),
        (post(invalid, headers=token), 400),
        (post(raw=b"{", headers=token), 400),
        (post(headers=token, content_type="text/csv"), 415),
        (post(raw=b" " * (MAX_BODY_BYTES + 1), headers=token), 413),
    ]:
        assert response.status_code == status, response.get_body()
    assert len(client.started) == 1

    broken = tmp_path / "broken.yaml"
    broken.write_text("event: {eventId: $.id}\n", encoding="utf-8")
    use_runtime(_runtime(_settings(MAPPED_WEBHOOK_MAPPING_FILE=str(broken))))
    assert post().status_code == 503
    use_runtime(_runtime(_settings()))
    assert post().status_code == 404
    use_runtime(_runtime(settings, secrets=FakeSecrets({})))
    assert post(headers=token).status_code == 503
    assert mapped_route.ROUTE == "hris/mapped"
