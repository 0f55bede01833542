"""The bulkUpload URL of PROVISIONING_API_ENDPOINT, parsed strictly so HR data only ever goes to Graph."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, cast
from urllib.parse import urlsplit

GraphApiVersion = Literal["v1.0", "beta"]

GRAPH_HOST = "graph.microsoft.com"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Job ids look like API2AD.<tenant without dashes>.<guid>; only characters that are safe in a URL
# path segment and inside an OData string literal are accepted.
_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,199}$")


@dataclass(frozen=True, slots=True)
class BulkUploadEndpoint:
    """The parts of a bulkUpload URL the app needs: the log filter and status checks use the ids."""

    url: str
    api_version: GraphApiVersion
    service_principal_id: str
    job_id: str


def parse_bulk_upload_endpoint(value: str) -> BulkUploadEndpoint:
    """Parse the portal's Provisioning API Endpoint; raise ValueError saying what is wrong.

    The returned `url` is the canonical form (lower-case host and service principal id).

    Only the exact Graph URL shape is accepted so that a pasted logs URL, a staging host or an
    http URL can never receive HR data.
    """
    parts = urlsplit(value)
    if parts.scheme != "https":
        raise ValueError("must be an https URL")
    if parts.username is not None or parts.password is not None or parts.port is not None:
        raise ValueError(f"must address {GRAPH_HOST} without credentials or port")
    if (parts.hostname or "") != GRAPH_HOST or parts.netloc.lower() != GRAPH_HOST:
        raise ValueError(f"host must be {GRAPH_HOST}")
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValueError("must not carry a query or fragment")
    segments = parts.path.split("/")
    shape = "/{v1.0|beta}/servicePrincipals/{id}/synchronization/jobs/{jobId}/bulkUpload"
    if (
        len(segments) != 8
        or segments[0] != ""
        or segments[2] != "servicePrincipals"
        or segments[4] != "synchronization"
        or segments[5] != "jobs"
        or segments[7] != "bulkUpload"
    ):
        raise ValueError(f"path must be {shape}")
    version = segments[1]
    if version not in ("v1.0", "beta"):
        raise ValueError("API version must be v1.0 or beta")
    service_principal_id = segments[3]
    if not GUID.match(service_principal_id):
        raise ValueError("service principal id must be a GUID (the enterprise app's object id)")
    job_id = segments[6]
    if not _JOB_ID.match(job_id):
        raise ValueError("job id must look like API2AD.<tenant>.<guid> (letters, digits, dots, hyphens)")
    service_principal_id = service_principal_id.lower()
    return BulkUploadEndpoint(
        url=f"https://{GRAPH_HOST}/{version}/servicePrincipals/{service_principal_id}"
        f"/synchronization/jobs/{job_id}/bulkUpload",
        api_version=cast(GraphApiVersion, version),
        service_principal_id=service_principal_id,
        job_id=job_id,
    )


def bulk_upload_url(value: str) -> str:
    """PROVISIONING_API_ENDPOINT in its canonical form (the field validator of the setting)."""
    return parse_bulk_upload_endpoint(value).url
