"""Every limit a service's OpenAPI document states, and a request that breaks just that one (S3).

From each operation: its parameters with a ``maxLength`` (path, query, header), and in its JSON body every
string with a ``maxLength``, array with ``maxItems``, object with ``maxProperties``, and every object that
takes no other fields (``additionalProperties: false``), however deep. A case is the operation's own
documented example with that one value made one too long (or one field added where none may be).
"""

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Path = tuple[str | int, ...]
UNKNOWN = "unknown"  # a kind of limit: the object takes no field beyond its own
# Kinds of limit on every string of a body and every path parameter: text that cannot be stored.
NUL, SURROGATE = "NUL", "lone surrogate"
HOSTILE = {NUL: "a\u0000b", SURROGATE: "a\ud800b"}
EXTRA_FIELD = "not_a_field"


@dataclass(frozen=True)
class Limit:
    where: str  # "body", or the parameter's place: "path", "query", "header"
    path: Path  # the field in the body (the parameter's name for a parameter)
    kind: str  # maxLength, maxItems, maxProperties or UNKNOWN
    bound: int

    @property
    def field(self) -> str:
        """How a 422 names the field: the body's path joined with dots (a parameter: its place and name)."""
        path = (*self.path, EXTRA_FIELD) if self.kind == UNKNOWN else self.path
        named = ".".join(str(part) for part in path if part != "*")
        return named if self.where == "body" else f"{self.where}.{named}"

    def label(self) -> str:
        return f"{self.where} {self.field or '(the body)'} {self.kind} {self.bound}"


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def body_limits(document: dict[str, Any], schema: dict[str, Any], path: Path = ()) -> Iterator[Limit]:
    schema = resolve(document, schema)
    for alternative in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        yield from body_limits(document, alternative, path)
    for kind in ("maxLength", "maxItems", "maxProperties"):
        if kind in schema:
            yield Limit("body", path, kind, schema[kind])
    if "maxLength" in schema:  # text: none of it may be what cannot be stored
        yield from (Limit("body", path, hostile, 0) for hostile in HOSTILE)
    if schema.get("additionalProperties") is False:
        yield Limit("body", path, UNKNOWN, 0)
    for name, field in schema.get("properties", {}).items():
        yield from body_limits(document, field, (*path, name))
    if isinstance(schema.get("items"), dict):
        yield from body_limits(document, schema["items"], (*path, 0))
    if isinstance(schema.get("additionalProperties"), dict):
        yield from body_limits(document, schema["additionalProperties"], (*path, "*"))


def parameter_limits(document: dict[str, Any], operation: dict[str, Any]) -> Iterator[Limit]:
    for parameter in operation.get("parameters", []):
        schema = resolve(document, parameter.get("schema", {}))
        for candidate in [schema, *schema.get("anyOf", [])]:
            if "maxLength" in candidate:
                yield Limit(parameter["in"], (parameter["name"],), "maxLength", candidate["maxLength"])
            # A NUL in a path. Not a lone surrogate: a URL carries bytes, and the server decodes what is not
            # UTF-8 as U+FFFD (text it can store), so none ever reaches a path parameter.
            if "maxLength" in candidate and parameter["in"] == "path":
                yield Limit("path", (parameter["name"],), NUL, 0)


def example_of(document: dict[str, Any], operation: dict[str, Any]) -> Any:
    """The JSON body the operation documents as its example (its schema's first example)."""
    content = operation["requestBody"]["content"]["application/json"]
    if "example" in content:
        return copy.deepcopy(content["example"])
    schema = resolve(document, content["schema"])
    for candidate in [schema, *(resolve(document, s) for s in schema.get("anyOf", []))]:
        if "examples" in candidate:
            return copy.deepcopy(candidate["examples"][0])
        if "example" in candidate:
            return copy.deepcopy(candidate["example"])
    return {}


def too_long(limit: Limit, current: Any) -> Any:
    """A value one past ``limit``: a string one character longer, one item or property too many."""
    if limit.kind == "maxLength":
        return "x" * (limit.bound + 1)
    if limit.kind in HOSTILE:
        return HOSTILE[limit.kind]
    if limit.kind == "maxItems":
        item = current[0] if isinstance(current, list) and current else "x"
        return [copy.deepcopy(item) for _ in range(limit.bound + 1)]
    if limit.kind == "maxProperties":
        return {f"key{n}": "value" for n in range(limit.bound + 1)}
    return {**(current if isinstance(current, dict) else {}), EXTRA_FIELD: 1}


def broken(body: Any, limit: Limit) -> Any:
    """``body`` with the value at ``limit.path`` replaced by one past the limit (made where it was absent)."""
    root: Any = {"": copy.deepcopy(body)}
    holder, key = root, ""
    for part in limit.path:
        holder, key = _step(holder, key, part)
    holder[key] = too_long(limit, holder[key] if _has(holder, key) else None)
    return root[""]


def _has(holder: Any, key: Any) -> bool:
    return key in holder if isinstance(holder, dict) else key < len(holder)


def _step(holder: Any, key: Any, part: str | int) -> tuple[Any, Any]:
    """Into ``holder[key]`` towards ``part``, making the list or object on the way when absent."""
    current = holder[key] if _has(holder, key) else None
    if isinstance(part, int):
        if not isinstance(current, list) or not current:
            holder[key] = current = [{}]
        return current, 0
    if not isinstance(current, dict):
        holder[key] = current = {}
    return current, ("key" if part == "*" else part)
