"""Delta query on users: what changed in the directory since the last look, in one round of requests.

Source: Microsoft Learn, "Use delta query to track changes in Microsoft Graph data" and "user: delta".
A round follows ``@odata.nextLink`` pages until the page that carries the ``@odata.deltaLink``; the next round
starts from that link. ``$deltatoken=latest`` starts tracking from now without reading the directory ("sync
from now", supported for Entra resources). ``$select`` names the properties to track and is given once: the
links carry it. Removed users come as ``{"id", "@removed": {"reason"}}``. A link the service no longer honours
(410 Gone, ``syncStateNotFound``; directory tokens last seven days) raises
:class:`~provisioning.graph.errors.DeltaExpired`: start again from ``latest`` and look directly at what the
missed changes could have been. Replays happen: the same change may come in two rounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from provisioning.graph.errors import GraphError
from provisioning.graph.odata import select_clause
from provisioning.graph.transport import GraphTransport

__all__ = ["UserChanges", "latest_users_link", "user_changes"]

_TEMPLATE: Final = "/v1.0/users/delta"
MAX_DELTA_PAGES: Final = 1000
"""A round reads at most this many pages (the page size is the service's; a busy tenant's round is a few)."""


@dataclass(frozen=True)
class UserChanges:
    """One round: the users created or changed (selected properties), the ids removed, and the next link."""

    users: list[dict[str, Any]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    delta_link: str = ""
    pages: int = 0


def latest_users_link(transport: GraphTransport, select: Sequence[str]) -> str:
    """A delta link that reports the changes made from now on (no users are read)."""
    url = transport._url(_TEMPLATE, {"$select": select_clause(select), "$deltatoken": "latest"})
    return user_changes(transport, url).delta_link


def user_changes(transport: GraphTransport, link: str) -> UserChanges:
    """Follow one round from ``link`` (a delta link, or a first-request URL) to its next delta link."""
    users: list[dict[str, Any]] = []
    removed: list[str] = []
    pages = 0
    for body in transport._pages(
        transport._checked_link(link, template=_TEMPLATE), template=_TEMPLATE, max_pages=MAX_DELTA_PAGES
    ):
        pages += 1
        for item in body["value"]:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            if "@removed" in item:
                removed.append(item["id"])
            else:
                users.append(item)
        delta = body.get("@odata.deltaLink")
        if delta:
            return UserChanges(users, removed, transport._checked_link(delta, template=_TEMPLATE), pages)
    raise GraphError(0, "UnexpectedResponse", "a users/delta round ended without an @odata.deltaLink")
