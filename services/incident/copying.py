"""Copying aggregates cheaply: eventsourcing hands out a deep copy of a cached aggregate for every
command, so that a command that fails half-way cannot corrupt the cache.

``copy.deepcopy`` treats a datetime as an arbitrary object (reduce, then rebuild), and an
incident or a person's time records hold hundreds of them: that copy was half of a command's
CPU. The state here is plain data — dicts, lists and tuples of immutable values — so a copy
only needs to rebuild the containers.
"""

import copy
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID

IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes, datetime, date, time, timedelta, UUID, Decimal})


def fresh(value):
    """A copy of ``value`` sharing nothing mutable with it."""
    kind = type(value)
    if kind in IMMUTABLE:
        return value
    if kind is list:
        return [fresh(item) for item in value]
    if kind is dict:
        return {key: fresh(item) for key, item in value.items()}
    if kind is tuple:
        return tuple(fresh(item) for item in value)
    return copy.deepcopy(value)  # anything else the generic way: correct, only slower


class CheapCopy:
    """Mixed into every aggregate of the incident service, before ``Aggregate``."""

    def __deepcopy__(self, memo):
        clone = object.__new__(type(self))
        clone.__dict__.update({name: fresh(value) for name, value in self.__dict__.items()})
        return clone
