"""R17: a post-mortem's process refinement, applied as a new process version that cites it."""

from collections.abc import Callable

from pydantic import ValidationError

from services.incident import organisation as org
from services.incident.domain import Incident
from services.incident.errors import Conflict, Forbidden, Invalid
from services.incident.incidents import in_turn
from services.incident.policy import Actor, allowed
from shared.idempotency import Answer
from shared.process import secrets
from shared.process.document import ProcessDocument, merge_patch


class Refinements:
    def __init__(self, store, people):
        self.store, self.people = store, people  # store: the IncidentApplication

    def may_refine(self, postmortem: str, actor: Actor) -> None:
        """R17: the cited incident exists and the caller is an admin or one of its managers (past ones too)."""
        incident = self.store.load(Incident, postmortem, "post-mortem")
        if not allowed("apply_refinement", actor, incident):  # its managers, past ones too, or an admin
            raise Forbidden(
                "only the cited incident's managers (past ones too) and admins apply its refinements", rule="R17"
            )

    def apply_refinement(
        self,
        postmortem: str,
        action_item: int,
        change: dict,
        recorded: dict,
        actor: Actor,
        answer: Callable[[int, dict], Answer] | None = None,
    ) -> tuple[int, dict]:
        """Publish a new process version at once, citing the post-mortem (its incident's id) and the action
        item ``recorded`` on it (as the post-mortem stream told it): only a process refinement, with exactly
        its change, once. Two applying it at once: the one that loses is checked again, and refused."""
        self.may_refine(postmortem, actor)
        item = f"action item {action_item} of post-mortem {postmortem}"
        if recorded["kind"] != "process_refinement":
            raise Conflict(
                f"{item} is a {recorded['kind']} item: only a process refinement changes the process", rule="R17"
            )
        if change != recorded["change"]:
            raise Conflict(
                f"the change differs from the one recorded on {item}; nothing was changed",
                rule="R17",
                errors=[{"field": "change", "message": "must be exactly the recorded change"}],
            )

        def attempt() -> tuple[int, dict]:
            process = self.store.load(org.Process, org.PROCESS_ID, "process")
            if process.has_applied(postmortem, action_item):
                raise Conflict(f"{item} was already applied", rule="R17")
            organisation = self.store.organisation
            # Merged and compared in plaintext, stored sealed (S11).
            document = organisation.sealed(_refined(organisation.opened(process.current), change), process.current)
            if catch_all := document.get("catch_all_sme"):
                self.people.require_people("catch_all_sme", catch_all)
            process.publish(document, by=actor.person_id, cites_postmortem=postmortem, cites_action_item=action_item)
            self.store.record(process, answer=answer and answer(process.current_version, process.current))
            return process.current_version, process.current

        return in_turn(self.store, {"process"}, attempt)


def _refined(current: dict, change: dict) -> dict:
    """The current process with the change merged in, valid and different, or the refusal. A secret the
    change gives masked (``***``, as GET shows it to someone not an admin) keeps its current value."""
    try:
        document = ProcessDocument.model_validate(merge_patch(current, change))
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"]) or "change", "message": e["msg"]} for e in exc.errors()]
        raise Invalid(
            "the change no longer fits the current process; nothing was changed", rule="R17", errors=errors
        ) from None
    proposed = secrets.unmasked(document.document(), current)
    if proposed == current:
        raise Conflict("the change is already part of the current process", rule="R17")
    return proposed
