"""The text every service accepts at its edge and every event of the contract carries: only what
PostgreSQL text and jsonb can store and a mail header, a chat message or a web page can show safely.

- No NUL and no other C0 control character but TAB, and no DEL: PostgreSQL text cannot hold NUL,
  a header or a terminal must not receive the others.
- Line breaks (CR, LF, NEL, U+2028, U+2029) only in multi-line text (`Text`: descriptions,
  narratives, status-update parts, briefings, messages, reasons) — never in a `Line` (titles,
  names, aspects, e-mails, ids), which may end up in a mail subject or a URL.
- No lone surrogate (U+D800–U+DFFF): it is not Unicode and has no UTF-8 form.
- A maximum length on every field (in characters).
- Free-form JSON (`Json`: a process refinement's change, an event's detail) at most `MAX_DEPTH`
  deep, every key and string of it under the multi-line rule.

Each type is an ``Annotated`` str (or dict) for a request body, a path or query parameter and an
event's data model alike, so the OpenAPI documents and the event JSON Schemas state the same limits
(``maxLength``, ``pattern``). A value outside them is a 422 naming the field (shared/problems)
before anything is written.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from annotated_types import GroupedMetadata
from pydantic import AfterValidator, BeforeValidator, Field

# Refused in multi-line text: C0 controls but TAB (\x09), LF (\x0A) and CR (\x0D); DEL.
_TEXT = r"\x00-\x08\x0B\x0C\x0E-\x1F\x7F"
# Refused in a single line: every C0 control but TAB, DEL, and the line breaks NEL, U+2028, U+2029.
_LINE = r"\x00-\x08\x0A-\x1F\x7F\x85\u2028\u2029"
_SURROGATES = "\ud800-\udfff"

# The JSON Schema (ECMA-262) form; `$` ends the text there (and in pydantic-core's regex engine).
LINE_PATTERN = rf"^[^{_LINE}]*$"
TEXT_PATTERN = rf"^[^{_TEXT}]*$"
_IN_LINE = re.compile(rf"[{_LINE}{_SURROGATES}]")
_IN_TEXT = re.compile(rf"[{_TEXT}{_SURROGATES}]")

# How deep free-form JSON may nest (objects and arrays): far beyond any process document or patch.
MAX_DEPTH = 32


def _refusal(found: str, multi_line: bool) -> str:
    code = f"U+{ord(found):04X}"
    if 0xD800 <= ord(found) <= 0xDFFF:
        return f"a lone surrogate ({code}) is not Unicode text"
    if not multi_line and found in "\n\r\x85\u2028\u2029":
        return f"a line break ({code}) is not allowed here: this field is a single line"
    return f"a control character ({code}) cannot be stored or shown safely"


def _checker(forbidden: re.Pattern[str], multi_line: bool) -> Callable[[str], str]:
    def check(value: str) -> str:
        if (found := forbidden.search(value)) is not None:
            raise ValueError(f"{_refusal(found.group(), multi_line)} (at character {found.start() + 1})")
        return value

    return check


_line = _checker(_IN_LINE, multi_line=False)
_text = _checker(_IN_TEXT, multi_line=True)


# Line and Text are constraints for `Annotated[str, ...]`, not types: mypy accepts no call in an
# annotation. pydantic unpacks a GroupedMetadata into its members, so `Annotated[str, Line(80)]`
# validates and documents exactly what `Annotated[str, Field(...), AfterValidator(...)]` would.
@dataclass(frozen=True)
class Line(GroupedMetadata):
    """Single-line text of at most ``max_length`` characters: ``Annotated[str, Line(80)]``.
    A ``pattern`` narrows it further (it is documented and enforced beside the line rule)."""

    max_length: int
    min_length: int = 0
    pattern: str | None = None

    def __iter__(self) -> Iterator[object]:
        documented: dict[str, Any] = (
            {"pattern": self.pattern} if self.pattern else {"json_schema_extra": {"pattern": LINE_PATTERN}}
        )
        yield Field(min_length=self.min_length or None, max_length=self.max_length, **documented)
        yield AfterValidator(_line)


@dataclass(frozen=True)
class Text(GroupedMetadata):
    """Multi-line text (TAB, CR and LF allowed) of at most ``max_length`` characters:
    ``Annotated[str, Text(2000)]``."""

    max_length: int
    min_length: int = 0

    def __iter__(self) -> Iterator[object]:
        yield Field(
            min_length=self.min_length or None,
            max_length=self.max_length,
            json_schema_extra={"pattern": TEXT_PATTERN},
        )
        yield AfterValidator(_text)


def _json(value: Any) -> Any:
    """Refuse JSON nested deeper than MAX_DEPTH, or holding a string outside the multi-line rule.
    Iterative, so a hostile document cannot exhaust the stack here."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict | list):
            if depth > MAX_DEPTH:
                raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
            if isinstance(node, dict):
                for key, item in node.items():
                    if isinstance(key, str):
                        _text(key)
                    pending.append((item, depth + 1))
            else:
                pending.extend((item, depth + 1) for item in node)
        elif isinstance(node, str):
            _text(node)
    return value


# Free-form JSON: an object, at most MAX_DEPTH deep, its keys and strings multi-line text.
Json = Annotated[
    dict[str, Any], BeforeValidator(_json), Field(description=f"a JSON object at most {MAX_DEPTH} levels deep")
]

# Identifiers: a person, token, incident, subscription or delivery as given in a body or a path.
Id = Annotated[str, Line(64, min_length=1)]
# A person's name, a group's.
Name = Annotated[str, Line(200, min_length=1)]
# An aspect of the company's systems (the SME directory's key).
Aspect = Annotated[str, Line(100, min_length=1)]
# An incident's or a minor report's title.
Title = Annotated[str, Line(200, min_length=1)]
# Descriptions, messages, narratives: what people write.
Message = Annotated[str, Text(10_000)]
# Reasons and comments given with a command.
Reason = Annotated[str, Text(2000)]
EMAIL = r"^[^@\s\x00-\x1F\x7F]+@[^@\s\x00-\x1F\x7F]+\.[^@\s\x00-\x1F\x7F]+$"
URL = r"^https?://[^\s\x00-\x1F\x7F]+$"
# A time of day on a person's clock, 00:00 to 24:00 (working and waking hours).
CLOCK = r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$"
Email = Annotated[str, Line(254, pattern=EMAIL)]
Url = Annotated[str, Line(2000, pattern=URL)]

# What a value of each pattern looks like, in words: a refusal says this, never the regular expression.
FORMS = {
    EMAIL: "an email address like alex@example.com",
    URL: "an http or https URL",
    CLOCK: "a time like 09:00 (00:00 to 24:00)",
}
