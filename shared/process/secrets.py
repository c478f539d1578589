"""The process document's secrets: the webhook URLs it names (``issue_tracker_webhook``, each level's
``chat_webhook_url``) carry their own credentials, so only admins read them. Anyone else reads ``MASK`` in
their place, and a document written back with ``MASK`` keeps the value it stands for.

At rest the secrets are sealed (shared/sealing.py, S11): ``passed`` gives the document with each secret
passed through a function (the sealer's ``open``, or ``seal``). Pure: the functions are given.
"""

from collections.abc import Callable
from typing import Any

MASK = "***"


def masked(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` as someone not an admin reads it: every secret that is set shown as MASK."""
    shown = dict(document)
    if shown.get("issue_tracker_webhook"):
        shown["issue_tracker_webhook"] = MASK
    if isinstance(levels := shown.get("levels"), list):
        shown["levels"] = [
            {**level, "chat_webhook_url": MASK} if isinstance(level, dict) and level.get("chat_webhook_url") else level
            for level in levels
        ]
    return shown


def unmasked(document: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """``document`` with each MASK replaced by the value ``current`` holds there (a level's by its number);
    where ``current`` holds none, the secret is left out."""
    kept = dict(document)
    if kept.get("issue_tracker_webhook") == MASK:
        kept["issue_tracker_webhook"] = current.get("issue_tracker_webhook")
    rooms = {level.get("level"): level.get("chat_webhook_url") for level in current.get("levels") or ()}
    levels = []
    for level in kept.get("levels") or ():
        if level.get("chat_webhook_url") == MASK:
            level = {key: value for key, value in level.items() if key != "chat_webhook_url"}
            if room := rooms.get(level.get("level")):
                level["chat_webhook_url"] = room
        levels.append(level)
    if "levels" in kept:
        kept["levels"] = levels
    return kept


def passed(document: dict[str, Any], change: Callable[[str], str]) -> dict[str, Any]:
    """``document`` with every secret it holds replaced by ``change(secret)`` (a copy; ``document`` is kept)."""
    shown = dict(document)
    if isinstance(hook := shown.get("issue_tracker_webhook"), str) and hook:
        shown["issue_tracker_webhook"] = change(hook)
    if isinstance(levels := shown.get("levels"), list):
        shown["levels"] = [
            {**level, "chat_webhook_url": change(level["chat_webhook_url"])}
            if isinstance(level, dict) and isinstance(level.get("chat_webhook_url"), str) and level["chat_webhook_url"]
            else level
            for level in levels
        ]
    return shown


def resealed(
    plain: dict[str, Any], stored: dict[str, Any], open_: Callable[[str], str], seal: Callable[[str], str]
) -> dict[str, Any]:
    """``plain`` (a document in plaintext) as it is stored: each secret sealed, keeping the sealed value
    ``stored`` already holds for the same plaintext, so a version publishing the same secret again keeps its
    ciphertext (Fernet's are never twice the same)."""
    kept: dict[str, str] = {}

    def keep(value: str) -> str:
        if (opened := open_(value)) != value:  # sealed (legacy plaintext opens as itself: sealed anew)
            kept.setdefault(opened, value)
        return value

    passed(stored, keep)
    return passed(plain, lambda value: kept.get(value) or seal(value))


def named(change: dict[str, Any]) -> list[str]:
    """The secrets a document or a merge patch sets, other than MASK (which keeps the stored value)."""
    found: list[str] = []

    def note(value: str) -> str:
        found.append(value)
        return value

    passed(change, note)
    return [value for value in found if value != MASK]
