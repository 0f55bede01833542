"""The HTTP error every route answers with: an RFC 9457 problem document naming what is wrong."""

from __future__ import annotations

import functools
import json
import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import ParamSpec

import aiohttp
import azure.functions as func

from provisioning.events import PROBLEM_CONTENT_TYPE, FieldError, problem_details

__all__ = ["TASK_HUB_RETRY_AFTER_SECONDS", "Problem", "task_hub_outage_is_503"]

logger = logging.getLogger(__name__)

TASK_HUB_RETRY_AFTER_SECONDS = 5
"""What a caller is told to wait when the task hub did not answer: long enough for a busy host to catch up."""
_UNEXPECTED_STATUS = "The operation failed with an unexpected status code"
"""How the Durable SDK's client reports an answer from the host's management API it has no case for (a 503 from a
throttled storage account, for one); it raises a bare Exception with this text."""

_SDK_HTTP_MODULE = "azure.durable_functions.models.utils.http_utils"
"""Where the Durable SDK's client talks HTTP to the host's management API."""

P = ParamSpec("P")


class Problem(Exception):
    """An HTTP error answered as application/problem+json."""

    def __init__(self, status: int, title: str, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.errors = status, title, detail, errors

    def response(self) -> func.HttpResponse:
        body = problem_details(self.status, self.title, self.detail, self.errors)
        return func.HttpResponse(
            json.dumps(body), status_code=self.status, mimetype=PROBLEM_CONTENT_TYPE, charset="utf-8"
        )


def task_hub_outage_is_503(
    route: Callable[P, Awaitable[func.HttpResponse]],
) -> Callable[P, Awaitable[func.HttpResponse]]:
    """Answer 503 problem+json with Retry-After when the Durable task hub does not answer the route's client.

    Reads and writes of instance state go through the host's management API (and from there to storage); under
    load or during a storage throttle they time out or fail. That is not the caller's fault and not a bug, so it
    must not be a bare 500: the caller (an HR system, a vendor's webhook, a status poll) is told to try again,
    and every route is safe to repeat (a resent event is idempotent by its eventId). Any other error still
    propagates, so a bug is never disguised as an outage.
    """

    @functools.wraps(route)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> func.HttpResponse:
        try:
            return await route(*args, **kwargs)
        except Exception as error:
            if not _is_task_hub_outage(error):
                raise
            logger.warning("task hub did not answer %s: %s", route.__name__, type(error).__name__)
            problem = Problem(
                503,
                "Task hub unavailable",
                "The Durable Functions task hub did not answer in time. Nothing is lost; send the same request again "
                f"after {TASK_HUB_RETRY_AFTER_SECONDS} seconds (an event resent with its eventId is not run twice).",
            )
            response = problem.response()
            response.headers["Retry-After"] = str(TASK_HUB_RETRY_AFTER_SECONDS)
            return response

    return guarded


def _is_task_hub_outage(error: Exception) -> bool:
    """A transport failure, an answer the SDK has no case for, or any error raised while the SDK's HTTP helper
    read the host's answer (a plain-text 500 from an overloaded host fails there as a JSON decode error)."""
    if isinstance(error, aiohttp.ClientError | TimeoutError | ConnectionError):
        return True
    if type(error) is Exception and str(error).startswith(_UNEXPECTED_STATUS):
        return True
    return any(
        frame.f_globals.get("__name__") == _SDK_HTTP_MODULE for frame, _ in traceback.walk_tb(error.__traceback__)
    )
