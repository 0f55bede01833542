"""HR events: what an HR system sends, validated before anything is scheduled or sent to Graph (docs/design.md,
"The HR event").

Pure (no Azure SDK): `models` holds HrEvent and Employee with their field rules; `values` what a single value must
look like (names, text, addresses, zones); `errors` the per-field problems with JSON paths and the RFC 9457
document; `parsing` strict JSON and the event and batch parsers; `ids` the Durable instance ids and fingerprints.
"""

from provisioning.events.errors import (
    PROBLEM_CONTENT_TYPE,
    BatchTooLargeError,
    EventValidationError,
    FieldError,
    json_path,
    problem_details,
)
from provisioning.events.ids import INSTANCE_ID_PREFIX, event_fingerprint, instance_event_id, sanitize_instance_id
from provisioning.events.models import (
    APP_EXTENSION_ATTRIBUTES,
    EVENT_TYPES,
    LEAVE_TYPES,
    MAX_ATTRIBUTES,
    MAX_BATCH_EVENTS,
    MAX_BODY_BYTES,
    RESERVED_ATTRIBUTE_NAMES,
    AttributeValue,
    Employee,
    EventType,
    HrEvent,
    HrEventBatch,
    missing_for_type,
)
from provisioning.events.parsing import (
    JsonBodyError,
    ParsedBatch,
    RejectedEvent,
    loads_strict,
    parse_batch,
    parse_event,
)
from provisioning.events.values import (
    ISO_3166_ALPHA2,
    PERSON_NAME_MAX,
    SPECIAL_USE_TLDS,
    is_email_address,
    is_time_zone,
)

__all__ = [
    "APP_EXTENSION_ATTRIBUTES",
    "EVENT_TYPES",
    "INSTANCE_ID_PREFIX",
    "ISO_3166_ALPHA2",
    "LEAVE_TYPES",
    "MAX_ATTRIBUTES",
    "MAX_BATCH_EVENTS",
    "MAX_BODY_BYTES",
    "PERSON_NAME_MAX",
    "PROBLEM_CONTENT_TYPE",
    "RESERVED_ATTRIBUTE_NAMES",
    "SPECIAL_USE_TLDS",
    "AttributeValue",
    "BatchTooLargeError",
    "Employee",
    "EventType",
    "EventValidationError",
    "FieldError",
    "HrEvent",
    "HrEventBatch",
    "JsonBodyError",
    "ParsedBatch",
    "RejectedEvent",
    "event_fingerprint",
    "instance_event_id",
    "is_email_address",
    "is_time_zone",
    "json_path",
    "loads_strict",
    "missing_for_type",
    "parse_batch",
    "parse_event",
    "problem_details",
    "sanitize_instance_id",
]
