"""Path convertors for Graph routes; imported by every module that declares such a route."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class GraphVersionConvertor(Convertor[str]):
    """``v1.0`` or ``beta``: both Graph versions are served."""

    regex = "v1\\.0|beta"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class JobCommandConvertor(Convertor[str]):
    """The synchronization job controls."""

    regex = "start|pause|restart"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class DeltaFunctionConvertor(Convertor[str]):
    """The delta function, by its short and its qualified name, with or without the call's parentheses (the SDKs
    send ``delta()``)."""

    regex = "(?:microsoft\\.graph\\.)?delta(?:\\(\\))?"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("graphversion", GraphVersionConvertor())
register_url_convertor("deltafunction", DeltaFunctionConvertor())
register_url_convertor("jobcommand", JobCommandConvertor())

REGISTERED = ("graphversion", "jobcommand", "deltafunction")
