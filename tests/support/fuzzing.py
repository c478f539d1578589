"""What every service's schemathesis run (S6) checks: no 5xx, answers as documented, errors as problems, and
in negative mode (invalid data) a refusal: an invalid input the service accepts fails the run."""

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import negative_data_rejection, response_schema_conformance


def errors_are_problem_details(ctx, response, case) -> None:
    """Spec §4: every error is RFC 9457 application/problem+json, its ``status`` the HTTP status."""
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/problem+json"), f"{response.status_code} as {content_type}"
    body = response.json()
    assert body["status"] == response.status_code and body["title"] and body["detail"], body


CHECKS = [not_a_server_error, response_schema_conformance, errors_are_problem_details]
# Invalid data must be refused (4xx): schemathesis knows which part of each case it made invalid.
CHECKS_BY_MODE = {GenerationMode.POSITIVE: CHECKS, GenerationMode.NEGATIVE: [*CHECKS, negative_data_rejection]}

# Settings overrides for a fuzzed service: schemathesis sends far more than S7's default burst.
UNTHROTTLED: dict[str, Any] = {"rate_limit_per_second": 1e6, "rate_limit_burst": 1_000_000}


BOTH_MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


def fuzz_operations(
    schema, *, max_examples: int, headers: dict[str, str], aim: Callable[[object], None], modes=BOTH_MODES
) -> list[str]:
    """Every operation in each mode, ``aim(case)`` pointing half the cases at things that exist (in negative
    mode a valid path only: aiming what was made invalid could make it valid); the failures found, one line
    each (every operation runs even after one fails)."""
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in modes:
            try:
                _fuzz(operation, mode, max_examples, headers, aim)
            except (AssertionError, FailureGroup) as failure:  # collected, reported together
                failures.append(f"{mode.value} {operation.label}: {str(failure).strip()[:2000]}")
    return failures


def _negative_at(case, location: ParameterLocation) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_negative and meta.is_negative_at(location)


def credentials(case, headers: dict[str, str]) -> dict[str, str]:
    """The caller's headers, but for a negative case whose invalid part is in its headers (a missing or
    malformed Authorization among them): sent with the case's own, never mended by the caller's token."""
    if not _negative_at(case, ParameterLocation.HEADER):
        return headers
    return {name: value for name, value in headers.items() if name.lower() != "authorization"}


def _fuzz(operation, mode: GenerationMode, max_examples: int, headers: dict[str, str], aim) -> None:
    negative, checks = mode == GenerationMode.NEGATIVE, CHECKS_BY_MODE[mode]

    @given(case=operation.as_strategy(generation_mode=mode), aimed=st.booleans())
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case, aimed):
        if aimed:
            body, path = case.body, case.path_parameters
            aim(case)
            if negative:  # the invalid part stays invalid
                case.body = body
                if _negative_at(case, ParameterLocation.PATH):
                    case.path_parameters = path
        case.call_and_validate(headers=credentials(case, headers), checks=checks)

    run()
