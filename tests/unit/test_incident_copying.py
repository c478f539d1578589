"""Every command works on a copy of the cached aggregate (services/incident/copying.py): the copy
shares nothing mutable with the cache, so a command refused half-way leaves no trace."""

import copy
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from services.incident.copying import fresh
from services.incident.errors import Conflict
from tests.unit.test_incident_domain import World


def test_a_fresh_copy_rebuilds_every_container_and_keeps_immutable_values():
    at, key = datetime(2026, 11, 27, tzinfo=UTC), uuid4()
    state = {"pages": ["sam", "tess"], "handled": [(at, key)], "checked": {"1": ["announce"]}, "offer": None}
    copied = fresh(state)
    assert copied == state
    assert copied["pages"] is not state["pages"] and copied["checked"]["1"] is not state["checked"]["1"]
    assert copied["handled"][0][0] is at  # immutable leaves are shared, not rebuilt
    copied["checked"]["1"].append("call")
    assert state["checked"] == {"1": ["announce"]}


def test_a_deep_copy_of_an_incident_has_its_state_and_none_of_its_lists():
    world = World()
    incident = world.app.incidents.incident(str(world.declare().id))
    copied = copy.deepcopy(incident)
    assert type(copied) is type(incident) and vars(copied) == vars(incident)
    assert copied.pages is not incident.pages and copied.managers is not incident.managers


def test_a_command_refused_half_way_leaves_the_cached_incident_as_it_was():
    world = World()
    declared = world.declare()

    def half_way(incident, ctx):
        incident.pages.append("someone")  # changed, then the rule says no
        raise Conflict("refused after the change began")

    with pytest.raises(Conflict):
        world.do(declared, "sam", half_way)
    assert world.app.incidents.incident(str(declared.id)).pages == declared.pages
