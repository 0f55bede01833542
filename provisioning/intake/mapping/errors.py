"""What goes wrong with a mapping: a file that cannot be used (at load) and a document that does not fit (at apply)."""

from __future__ import annotations

from dataclasses import dataclass

from provisioning.events import FieldError

__all__ = ["MappingError", "MappingLoadError", "MappingProblem", "TooManyRecords"]


@dataclass(frozen=True, slots=True)
class MappingProblem:
    """One mistake in a mapping file; `location` is its place in the file, such as `event.employee.country`."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class MappingLoadError(ValueError):
    """The mapping file cannot be used; `.problems` lists every mistake found, not just the first."""

    def __init__(self, source: str, problems: list[MappingProblem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(f"mapping {source}: " + "; ".join(str(problem) for problem in self.problems[:10]))

    def lines(self) -> list[str]:
        """One line per problem, each naming the file: what /api/health and the 503 answer list."""
        return [f"{self.source}: {problem}" for problem in self.problems]


class MappingError(ValueError):
    """A document does not fit the mapping; each error names the place in the document and the event field."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        summary = "; ".join(f"{error.field}: {error.message}" for error in self.errors[:5])
        super().__init__(f"the document does not fit the mapping: {summary}")


class TooManyRecords(MappingError):
    """More records than one request may start; the HTTP layer answers 413."""
