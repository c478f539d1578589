"""What every service's schemathesis run (S6) checks: no 5xx, answers as documented, errors as problems."""
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance


def errors_are_problem_details(ctx, response, case) -> None:
    """Spec §4: every error is RFC 9457 application/problem+json, its ``status`` the HTTP status."""
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/problem+json"), f"{response.status_code} as {content_type}"
    body = response.json()
    assert body["status"] == response.status_code and body["title"] and body["detail"], body


CHECKS = [not_a_server_error, response_schema_conformance, errors_are_problem_details]

# Settings overrides for a fuzzed service: schemathesis sends far more than S7's default burst.
UNTHROTTLED = {"rate_limit_per_second": 1e6, "rate_limit_burst": 1_000_000}
