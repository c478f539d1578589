"""Which event types a subscription takes: its patterns, where ``*`` matches any run of characters."""

import fnmatch
from collections.abc import Iterable


def matches(patterns: Iterable[str], event_type: str) -> bool:
    """Whether a subscription's patterns (``*`` matches any run of characters, dots too) take this type."""
    return any(fnmatch.fnmatchcase(event_type, pattern) for pattern in patterns)
