"""The base of every event's data model."""
from pydantic import BaseModel, ConfigDict

PersonId = str


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid")
