"""The base of every event's data model."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict

from shared.text import Line

# What every service accepts at its edge (shared/text), so a subscriber may rely on the schemas:
# no control characters, line breaks only in multi-line text, no lone surrogates, bounded lengths.
PersonId = Annotated[str, Line(64)]
# Ids the services make (incidents, reports, tokens, timers, deliveries, events).
Key = Annotated[str, Line(200)]


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid")
