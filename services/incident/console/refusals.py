"""A refusal as the console shows it: one sentence a person reads at 04:00, the rule it comes from (linked
to the rules page), and what was wrong with each field — from a use case's ``Refused`` or a form's
``ValidationError`` (the same request models as the API's)."""

from dataclasses import dataclass, field

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from services.incident.errors import Refused
from shared import problems
from shared.text import FORMS

_FIELD_WORDS = {
    "missing": "is required",
    "string_too_short": "must not be empty",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "greater_than_equal": "is too small",
    "less_than_equal": "is too large",
}


@dataclass(frozen=True)
class Explained:
    status: int
    sentence: str
    rule: str | None = None
    fields: list[str] = field(default_factory=list)

    @property
    def rule_link(self) -> str | None:
        """The rules page's section for the rule (relative: the console serves the page itself)."""
        link = problems.type_of(self.rule, "")
        return None if link == problems.BLANK else link


def explained(exc: Refused | ValidationError) -> Explained:
    if isinstance(exc, ValidationError):
        fields = [_field_error(error) for error in exc.errors()]
        return Explained(422, "Some of what you typed cannot be accepted: " + "; ".join(fields) + ".", None, fields)
    sentence = exc.detail[:1].upper() + exc.detail[1:]
    fields = [f"{e.get('field', '')}: {e.get('message', '')}" for e in exc.errors or []]
    return Explained(exc.status, sentence.rstrip(".") + ".", exc.rule, fields)


def _field_error(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"]).replace("_", " ") or "the form"
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "string_pattern_mismatch" and (words := FORMS.get(str(ctx.get("pattern")))):
        return f"{where} must be {words}"
    if kind == "string_too_long":
        return f"{where} must be at most {ctx.get('max_length')} characters long"
    return f"{where} {_FIELD_WORDS.get(kind) or error['msg'].removeprefix('Value error, ')}"
