"""The HTTP error every route answers with: an RFC 9457 problem document naming what is wrong."""

from __future__ import annotations

import json

import azure.functions as func

from provisioning.events import PROBLEM_CONTENT_TYPE, FieldError, problem_details

__all__ = ["Problem"]


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
