"""Write (or check) one JSON Schema per event type, generated from the contract's models.

    python -m shared.contract.schemas --write
"""
import json
import sys
from pathlib import Path

from shared.contract.events import EVENT_TYPES

FOLDER = Path(__file__).parent / "schemas"


def generated() -> dict[str, str]:
    out = {}
    for event_type, model in sorted(EVENT_TYPES.items()):
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": event_type,
                  "title": event_type, **model.model_json_schema()}
        out[f"{event_type}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def committed() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(FOLDER.glob("*.json"))}


def main(argv: list[str]) -> int:
    if "--write" in argv:
        FOLDER.mkdir(exist_ok=True)
        for old in FOLDER.glob("*.json"):
            old.unlink()
        for name, text in generated().items():
            (FOLDER / name).write_text(text)
        return 0
    return 0 if generated() == committed() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
