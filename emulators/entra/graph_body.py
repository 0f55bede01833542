"""Request bodies as Graph reads them.

Graph matches the property names of a JSON request body case-insensitively: the documented
``{"message": ..., "saveToSentItems": ...}`` of sendMail and the ``{"Message": ..., "SaveToSentItems":
...}`` that the Microsoft SDKs send (the parameter spelling of Graph's CSDL) are the same request.
Every Microsoft SDK also stamps ``@odata.type`` on the objects it serializes; Graph checks that the
named type fits the one the route expects and otherwise ignores it, as it ignores the other
``@odata.*`` instance annotations a client may echo back.

:func:`read_body` turns a decoded body into the spelling the routes use, recursively for the
complex types each route reads. Names it does not know are kept as sent, so a route still refuses
an unknown property with Graph's own error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from emulators.entra.core import USER_PROPERTIES


@dataclass(frozen=True)
class BodyType:
    """One structured type a route reads: its Graph type name (None for action parameters) and, per
    property in the routes' spelling, the type of its nested objects (None for primitives)."""

    name: str | None
    properties: Mapping[str, str | None]
    derived: frozenset[str] = field(default_factory=frozenset)

    def canonical(self, key: str) -> str | None:
        lowered = key.lower()
        return next((name for name in self.properties if name.lower() == lowered), None)


_RECIPIENTS = "recipient"
TYPES: dict[str, BodyType] = {
    "user": BodyType(
        "microsoft.graph.user",
        {**dict.fromkeys(sorted(USER_PROPERTIES)), "passwordProfile": "passwordProfile"},
    ),
    "passwordProfile": BodyType(
        "microsoft.graph.passwordProfile",
        dict.fromkeys(("password", "forceChangePasswordNextSignIn", "forceChangePasswordNextSignInWithMfa")),
    ),
    "temporaryAccessPassAuthenticationMethod": BodyType(
        "microsoft.graph.temporaryAccessPassAuthenticationMethod",
        dict.fromkeys(
            (
                "id",
                "createdDateTime",
                "startDateTime",
                "lifetimeInMinutes",
                "isUsableOnce",
                "isUsable",
                "methodUsabilityReason",
                "temporaryAccessPass",
            )
        ),
    ),
    # The parameters of the user.sendMail action (CSDL spells them Message and SaveToSentItems).
    "sendMail": BodyType(None, {"message": "message", "saveToSentItems": None}),
    "message": BodyType(
        "microsoft.graph.message",
        {
            "subject": None,
            "body": "itemBody",
            "toRecipients": _RECIPIENTS,
            "ccRecipients": _RECIPIENTS,
            "bccRecipients": _RECIPIENTS,
            "replyTo": _RECIPIENTS,
            "from": _RECIPIENTS,
            "sender": _RECIPIENTS,
            "importance": None,
            "categories": None,
            "internetMessageHeaders": None,
            "attachments": None,
            "isDeliveryReceiptRequested": None,
            "isReadReceiptRequested": None,
        },
        derived=frozenset({"microsoft.graph.eventMessage", "microsoft.graph.calendarSharingMessage"}),
    ),
    "itemBody": BodyType("microsoft.graph.itemBody", {"contentType": None, "content": None}),
    "recipient": BodyType(
        "microsoft.graph.recipient",
        {"emailAddress": "emailAddress"},
        derived=frozenset({"microsoft.graph.attendee", "microsoft.graph.attendeeBase"}),
    ),
    "emailAddress": BodyType("microsoft.graph.emailAddress", {"address": None, "name": None}),
}


class BodyError(ValueError):
    """A body Graph refuses while reading it (400 BadRequest)."""


def read_body(value: Any, type_key: str) -> Any:
    """``value`` with property names in the routes' spelling; raises BodyError on a wrong ``@odata.type``
    or on a property sent twice under different capitalisations."""
    body_type = TYPES[type_key]
    if isinstance(value, list):
        return [read_body(item, type_key) for item in value]
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for key, item in value.items():
        if key.startswith("@"):
            if key.lower() == "@odata.type":
                _check_type(item, body_type)
            continue  # @odata.context, @odata.etag...: annotations Graph does not act on in a request
        name = body_type.canonical(key) or key
        if name in result:
            raise BodyError(f"The property '{name}' was specified more than once in the request body.")
        nested = body_type.properties.get(name)
        result[name] = read_body(item, nested) if nested is not None else item
    return result


def _check_type(annotated: Any, body_type: BodyType) -> None:
    given = str(annotated).removeprefix("#") if isinstance(annotated, str) else ""
    if body_type.name is None:
        return
    accepted = {body_type.name.lower(), *(name.lower() for name in body_type.derived)}
    if given.lower() in accepted:
        return
    raise BodyError(
        f"A resource of type '{given or annotated!r}' was found, but it is not assignable to the expected type "
        f"'{body_type.name}'. The type specified in the resource must be equal to either the expected type or "
        "a derived type."
    )
