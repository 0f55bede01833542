"""The declarative mapping language: where each `HrEvent` field comes from in a JSON document an HR system posts.

SuccessFactors Integration Center, Workday integrations and in-house systems send whatever shape their builder
chose. Instead of code per customer, a mapping file (YAML or JSON) names, for every event field, a JSONPath into the
document (the expressions admins already write in Entra's SuccessFactors and Workday connectors) and the few
transforms HR data needs, named after Entra's attribute-mapping functions: `const`, `default`, `first` (Coalesce),
`join` (Join), `split` (Split), `item` (Item), `switch` (Switch, with a mandatory default), `date` (FormatDateTime
plus time zones), `ignoreIfEmpty` (IgnoreFlowIfNullOrEmpty). docs/mapping.md is the reference.

A mapping is checked completely when it is loaded (`compiler`) — every problem at once, each with its place in the
file — so a broken file is found at start-up and by /api/health, not by the first hire. Applying it
(`document`) reports every record that does not fit with the path in the document. The same mapping applies to
any JSON object: a webhook body, one of several records in it, or a row of an uploaded roster
(`Mapping.apply_record`). Pure: no Azure SDK; only `Mapping.load_file` and `load_configured` read files.
"""

from provisioning.intake.mapping.compiler import MappingFormat
from provisioning.intake.mapping.document import (
    APP_ROOT,
    MAX_MAPPING_BYTES,
    MAX_RECORDS,
    MappedDocument,
    MappedEvent,
    Mapping,
    SkippedRecord,
    load_configured,
)
from provisioning.intake.mapping.errors import MappingError, MappingLoadError, MappingProblem, TooManyRecords

__all__ = [
    "APP_ROOT",
    "MAX_MAPPING_BYTES",
    "MAX_RECORDS",
    "MappedDocument",
    "MappedEvent",
    "Mapping",
    "MappingError",
    "MappingFormat",
    "MappingLoadError",
    "MappingProblem",
    "SkippedRecord",
    "TooManyRecords",
    "load_configured",
]
