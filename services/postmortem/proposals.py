"""The process a back-test proposes, for each process version the incidents ran with: a whole document,
or a change (an RFC 7386 merge patch) merged onto each incident's own version. Pure.

Validated exactly as ``PUT /v1/process`` validates a document (``shared.process.document``), with the
same warnings: a proposal that could not be published cannot be back-tested either. The versions'
secrets (webhook URLs, sealed at rest) take no part: they stand masked, and no answer shows them.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, ValidationError

from shared.process import secrets
from shared.process.document import ProcessDocument, merge_patch
from shared.text import Line


class ProposedProcess(ProcessDocument):
    """A whole process document, as ``PUT /v1/process`` takes it (what ``GET /v1/process`` answers may be
    sent as it is)."""

    # Read-only: a previous answer's, ignored (as PUT /v1/process ignores it).
    warnings: list[Annotated[str, Line(1000)]] | None = Field(
        default=None, max_length=100, description="Read-only: a previous answer's warnings; ignored"
    )


class Unfit(Exception):
    """The change merged onto ``version`` is not a valid process: ``errors`` are pydantic's, as for a body."""

    def __init__(self, version: int, error: ValidationError):
        super().__init__(f"the change does not fit process version {version}")
        self.version, self.errors = version, error.errors()


@dataclass(frozen=True)
class Proposal:
    """Each version's proposed document (valid) and what they may have wrong, in words (R09, R10)."""

    documents: Mapping[int, dict[str, Any]]
    warnings: list[str]


def proposed(
    versions: Mapping[int, dict[str, Any]], change: dict[str, Any] | None, document: ProcessDocument | None
) -> Proposal:
    """The proposal for each of ``versions`` (number to document): ``document`` for all of them, or
    ``change`` merged onto each; raises `Unfit` for the first version the change does not fit."""
    if document is not None:
        whole = document.document()
        return Proposal({version: whole for version in versions}, document.warnings_found())
    documents, warnings = {}, []
    for version, current in sorted(versions.items()):
        # The version's secrets are stored sealed (S11) and this service holds no key: they stand as MASK, which
        # a document validates as "the value already stored" (a back-test never reaches a webhook).
        shown = secrets.passed(current, lambda _: secrets.MASK)
        try:
            merged = ProcessDocument.model_validate(merge_patch(shown, change or {}))
        except ValidationError as error:
            raise Unfit(version, error) from None
        documents[version] = merged.document()
        warnings += merged.warnings_found()
    return Proposal(documents, list(dict.fromkeys(warnings)))


def named_catch_all(change: dict[str, Any] | None, document: ProcessDocument | None) -> str | None:
    """The catch-all SME the proposal names itself (PUT /v1/process checks they are a registered, active
    person); a version's own, left as it was, is not checked again."""
    if document is not None:
        return document.catch_all_sme
    value = (change or {}).get("catch_all_sme")
    return value if isinstance(value, str) else None
