"""Validation of a bulkUpload body (BulkRequest) as the documented 400 rules describe it."""

from __future__ import annotations

from typing import Any

BULK_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
CORE_USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MAX_OPERATIONS = 50
SCIM_CONTENT_TYPE = "application/scim+json"


def content_type_ok(header: str | None) -> bool:
    return (header or "").split(";")[0].strip().lower() == SCIM_CONTENT_TYPE


def bulk_request_problem(body: Any) -> str | None:
    """Why the body is not an acceptable BulkRequest, or None when it is."""
    if not isinstance(body, dict):
        return "The request body must be a SCIM BulkRequest JSON object."
    if body.get("schemas") != [BULK_REQUEST_SCHEMA]:
        return f"schemas must be exactly ['{BULK_REQUEST_SCHEMA}']."
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations:
        return "Operations is required and must contain at least one operation."
    if len(operations) > MAX_OPERATIONS:
        return f"Operations contains {len(operations)} operations; the maximum is {MAX_OPERATIONS}."
    for index, operation in enumerate(operations):
        problem = _operation_problem(operation)
        if problem is not None:
            return f"Operations[{index}]: {problem}"
    return None


def _operation_problem(operation: Any) -> str | None:
    if not isinstance(operation, dict):
        return "each operation must be a JSON object."
    if operation.get("method") != "POST":
        return "method must be 'POST'."
    if operation.get("path") != "/Users":
        return "path must be '/Users'."
    bulk_id = operation.get("bulkId")
    if not isinstance(bulk_id, str) or not bulk_id:
        return "bulkId is required."
    data = operation.get("data")
    if not isinstance(data, dict):
        return "data is required and must be a SCIM User object."
    schemas = data.get("schemas")
    if not isinstance(schemas, list) or CORE_USER_SCHEMA not in schemas:
        return f"data.schemas must include '{CORE_USER_SCHEMA}'."
    for key, value in data.items():
        if key.startswith("urn:") and isinstance(value, dict) and key not in schemas:
            return f"data uses the extension '{key}' without listing it in data.schemas."
    return None
