"""Microsoft Graph client for the provisioning workflows.

Modules: :mod:`~provisioning.graph.odata` (literals and ``$filter`` expressions: a name such as ``O'Brien`` can
never change the shape of a filter), :mod:`~provisioning.graph.errors` (what a failed call raises, with no PII),
:mod:`~provisioning.graph.transport` (tokens, retries, the throttling hand-off, paging, URLs kept out of logs),
:mod:`~provisioning.graph.batching` (JSON batching), :mod:`~provisioning.graph.delta` (delta rounds of users),
:mod:`~provisioning.graph.results` (a staged bulk request, a Temporary Access Pass that cannot leak) and
:mod:`~provisioning.graph.client` (the calls the product makes). Everything a caller needs is importable from
this package.
"""

from provisioning.graph.batching import MAX_BATCH_REQUESTS, BatchRequest, BatchResponse
from provisioning.graph.client import MAX_BULK_OPERATIONS, GraphClient, users_query
from provisioning.graph.delta import UserChanges
from provisioning.graph.errors import DeltaExpired, GraphError, GraphThrottled, SyncedUserPasswordError
from provisioning.graph.odata import (
    MAX_IN_VALUES,
    MAX_ODATA_LITERAL_LENGTH,
    ODataFilter,
    ODataValueError,
    filter_after,
    filter_all,
    filter_any,
    filter_eq,
    filter_in,
    odata_datetime,
    odata_string,
    users_using_identifier,
)
from provisioning.graph.results import BulkUploadAccepted, TemporaryAccessPass
from provisioning.graph.transport import DEFAULT_BASE_URL, GRAPH_SCOPE

__all__ = [
    "DEFAULT_BASE_URL",
    "GRAPH_SCOPE",
    "MAX_BATCH_REQUESTS",
    "MAX_BULK_OPERATIONS",
    "MAX_IN_VALUES",
    "MAX_ODATA_LITERAL_LENGTH",
    "BatchRequest",
    "BatchResponse",
    "BulkUploadAccepted",
    "DeltaExpired",
    "GraphClient",
    "GraphError",
    "GraphThrottled",
    "ODataFilter",
    "ODataValueError",
    "SyncedUserPasswordError",
    "TemporaryAccessPass",
    "UserChanges",
    "filter_after",
    "filter_all",
    "filter_any",
    "filter_eq",
    "filter_in",
    "odata_datetime",
    "odata_string",
    "users_query",
    "users_using_identifier",
]
