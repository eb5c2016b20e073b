"""Every step from every state as every persona, in and out of the area.

The expected table below is written out by hand from relief/roles.py and
domain.md, independently of applications.workflow.STEPS, so a change of a
role's rights or of a step's stages shows up here. An allowed attempt must move
the application to the expected state and write exactly one event on it; a
refused one must leave the row and the audit log as they were.

Each persona tries the step on the same starting point: the attempt runs in a
savepoint that is rolled back after its effects have been read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from applications import services
from applications.choices import State
from applications.models import Application, AppraisalMeeting, Notice
from applications.workflow import STEPS, Result, WorkflowError, available
from campaigns.choices import CampaignStatus
from campaigns.models import Category
from relief.choices import Role
from relief.models import AuditEvent
from tests.conftest import make_area, make_user

from .conftest import walk

# -- who may do what (hand-written from relief/roles.py) ----------------------------

# household_a lives in village A (东关村) of township T1 (城关镇) of the county.
ENTER = frozenset({"clerk_a", "township_clerk", "superuser"})  # add_application there
APPRAISERS = frozenset({"clerk_a", "township_clerk", "superuser"})  # appraise_application
REVIEWERS = frozenset({"township_clerk", "superuser"})  # review_application (初审)
LEADERS = frozenset({"supervisor", "superuser"})  # second review, notices, approval
COUNTY = frozenset({"approver", "superuser"})  # county_approve_application

# Every persona tries every step. In the area: clerk_a (village A),
# township_clerk, supervisor, finance (T1), approver, auditor, admin (county),
# superuser. Out of it, with the same rights elsewhere: clerk_b (village B),
# township_clerk_t2, supervisor_t2 (T2), approver_elsewhere (another county).
# Without any right to decide on applications: finance, auditor, admin,
# admin_t2, nobody.
PERSONAS = (
    "clerk_a",
    "clerk_b",
    "township_clerk",
    "township_clerk_t2",
    "supervisor",
    "supervisor_t2",
    "finance",
    "approver",
    "approver_elsewhere",
    "auditor",
    "admin",
    "admin_t2",
    "nobody",
    "superuser",
)

# step -> {stage it acts on -> personas who may take it there}
REVIEW_STAGES = {
    State.SUBMITTED: APPRAISERS,
    State.APPRAISED: REVIEWERS,
    State.FIRST_REVIEWED: LEADERS,
    State.REVIEWED: LEADERS,
    State.IN_NOTICE: LEADERS,
    State.AWAITING_COUNTY: COUNTY,
}
EXPECTED: dict[str, dict[str, frozenset[str]]] = {
    "submit": {State.DRAFT: ENTER},
    "appraise": {State.SUBMITTED: APPRAISERS},
    "first_review": {State.APPRAISED: REVIEWERS},
    "second_review": {State.FIRST_REVIEWED: LEADERS},
    "publish": {State.REVIEWED: LEADERS},
    "approve": {State.IN_NOTICE: LEADERS},
    "county_approve": {State.AWAITING_COUNTY: COUNTY},
    "return": dict(REVIEW_STAGES),
    "reject": dict(REVIEW_STAGES),
    "withdraw": {State.DRAFT: ENTER, State.SUBMITTED: ENTER},
}
REASON = "核实情况后处理"
NEEDS_REASON = {"return", "reject", "withdraw"}


# -- starting points ------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """How to build the starting application: walk to `walk_to`, then (if
    `returned_to`) return it there from that later stage."""

    walk_to: str
    second_review: bool = False  # the campaign asks for the township's 复审
    county: bool = False  # the category sends it on to the county
    returned_to: str = ""

    @property
    def state(self) -> str:
        return State.RETURNED if self.returned_to else self.walk_to

    @property
    def stage(self) -> str:
        return self.returned_to or self.walk_to


# Every state once (a returned one waits at the draft stage, as walk() leaves it).
STARTS: dict[str, Start] = {
    State.DRAFT: Start(State.DRAFT),
    State.SUBMITTED: Start(State.SUBMITTED),
    State.APPRAISED: Start(State.APPRAISED),
    State.FIRST_REVIEWED: Start(State.FIRST_REVIEWED, second_review=True),
    State.REVIEWED: Start(State.REVIEWED),
    State.IN_NOTICE: Start(State.IN_NOTICE),
    State.AWAITING_COUNTY: Start(State.AWAITING_COUNTY, county=True),
    State.APPROVED: Start(State.APPROVED),
    State.RETURNED: Start(State.RETURNED, returned_to=State.DRAFT),
    State.REJECTED: Start(State.REJECTED),
    State.WITHDRAWN: Start(State.WITHDRAWN),
}
# The same steps from the variants a state's rules depend on: a campaign with
# the second review, an amount the county approves, and an application returned
# to each stage under review (it waits there and is acted on as at that stage).
VARIANTS: dict[str, Start] = {
    "appraised+second_review": Start(State.APPRAISED, second_review=True),
    "in_notice+county": Start(State.IN_NOTICE, county=True),
    "returned_to_submitted": Start(State.APPRAISED, returned_to=State.SUBMITTED),
    "returned_to_appraised": Start(State.REVIEWED, returned_to=State.APPRAISED),
    "returned_to_first_reviewed": Start(
        State.REVIEWED, second_review=True, returned_to=State.FIRST_REVIEWED
    ),
    "returned_to_reviewed": Start(State.IN_NOTICE, returned_to=State.REVIEWED),
    "returned_to_in_notice": Start(State.AWAITING_COUNTY, county=True, returned_to=State.IN_NOTICE),
}


@pytest.fixture
def actors(people, areas) -> dict[str, Any]:
    """The conftest personas and two more who hold the leadership's and the
    county's rights, but elsewhere."""
    other_county = make_area("130124000000", "邻县")
    extra = {
        "supervisor_t2": make_user("supervisor_t2", Role.TOWNSHIP_SUPERVISOR, areas.t2),
        "approver_elsewhere": make_user("approver_elsewhere", Role.COUNTY_APPROVER, other_county),
    }
    found = {**vars(people), **extra}
    assert set(found) == set(PERSONAS), "a persona was added or removed: extend the table"
    return found


@pytest.fixture
def county_category(campaign) -> Category:
    """A second category whose every amount needs the county's approval. Made
    with the ORM: the campaign is open already."""
    general = campaign.categories.get(name="一般困难户")
    return Category.objects.create(
        campaign=campaign,
        name="特殊困难户",
        cash=800,
        planned_count=5,
        fund_source=general.fund_source,
        escalations=[[["amount", ">", "0", False], "county"]],
    )


def build(start: Start, people, campaign, household, county_category) -> Application:
    if start.second_review:
        type(campaign).objects.filter(pk=campaign.pk).update(second_review=True)
        campaign.refresh_from_db()
    overrides = {"category": county_category} if start.county else {}
    app = walk(people, campaign, household, start.walk_to, **overrides)
    if start.walk_to == State.REVIEWED and start.second_review:
        services.second_review(people.superuser, [app.pk]).raise_if_refused()
    if start.returned_to and start.walk_to != State.RETURNED:  # walk() returns to the draft
        services.return_applications(
            people.superuser, [app.pk], start.returned_to, "退回重审"
        ).raise_if_refused()
    app = Application.objects.get(pk=app.pk)
    assert (app.state, app.stage) == (start.state, start.stage), "the set-up did not get there"
    if start.county:
        assert app.approval_level == "county"
    return app


# -- taking a step --------------------------------------------------------------------


def attempt(
    step: str, actor, app: Application, campaign, village, *, reason: str = REASON, to_stage=""
) -> str:
    """Take `step` on `app` through the named service: "done", "refused: why",
    or the unexpected exception."""
    ids = [app.pk]
    to_stage = to_stage or State.DRAFT
    try:
        if step == "submit":
            result = services.submit(actor, ids)
        elif step == "appraise":
            services.record_appraisal(
                actor,
                campaign,
                village,
                held_on=timezone.localdate(),
                members="村支书、村委委员、村民代表",
                votes=[services.Vote(app.pk, True, 7, 0, 0)],
            )
            return "done"
        elif step == "first_review":
            result = services.first_review(actor, ids)
        elif step == "second_review":
            result = services.second_review(actor, ids)
        elif step == "publish":
            services.publish_notice(
                actor,
                campaign,
                village.parent,
                starts_on=timezone.localdate(),
                contact="民政办 0311-1234567",
            )
            return "done"
        elif step == "approve":
            result = services.approve(actor, ids)
        elif step == "county_approve":
            result = services.county_approve(actor, ids)
        elif step == "return":
            result = services.return_applications(actor, ids, to_stage, reason)
        elif step == "reject":
            result = services.reject(actor, ids, reason)
        elif step == "withdraw":
            services.withdraw(actor, app, reason)
            return "done"
        else:  # pragma: no cover
            raise AssertionError(step)
    except WorkflowError as error:
        return f"refused: {error.message}"
    except Exception as error:  # an unexpected failure is reported, not hidden
        return f"error {type(error).__name__}: {error}"
    return _outcome(result, app)


def _outcome(result: Result, app: Application) -> str:
    done = [a.pk for a in result.done]
    refused = [a.pk for a, _message in result.refused]
    if done == [app.pk] and not refused:
        return "done"
    if refused == [app.pk] and not done:
        return f"refused: {result.refused[0][1]}"
    return f"odd result: done {done}, refused {refused}"


def snapshot(pk: int) -> dict[str, Any]:
    return Application.objects.filter(pk=pk).values(
        "state", "returned_to", "notice_id", "amount", "updated_at", "decided_at", "approval_level"
    )[0]


@dataclass
class Seen:
    outcome: str
    before: dict[str, Any]
    after: dict[str, Any]
    events: list[AuditEvent]  # all events written by the attempt
    meetings: int  # appraisal meetings recorded by the attempt
    notices: int  # notices published by the attempt


class _Undo(Exception):
    pass


def observe(pk: int, run) -> Seen:
    """Run the attempt in a savepoint, read what it did, and roll it back."""
    seen = None
    try:
        with transaction.atomic():
            last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            meetings = AppraisalMeeting.objects.count()
            notices = Notice.objects.count()
            before = snapshot(pk)
            outcome = run()
            seen = Seen(
                outcome,
                before,
                snapshot(pk),
                list(AuditEvent.objects.filter(pk__gt=last).order_by("pk")),
                AppraisalMeeting.objects.count() - meetings,
                Notice.objects.count() - notices,
            )
            raise _Undo
    except _Undo:
        pass
    assert snapshot(pk) == seen.before, "the savepoint was not rolled back"
    return seen


def is_on(event: AuditEvent, app: Application) -> bool:
    """Does the event concern the application (not a meeting or notice that
    happens to have the same id)?"""
    return (event.target_type_id, event.target_id) == (
        ContentType.objects.get_for_model(Application).pk,
        str(app.pk),
    )


def expected_target(step: str, start: Start) -> str:
    if step == "first_review":
        return State.FIRST_REVIEWED if start.second_review else State.REVIEWED
    if step == "approve":
        return State.AWAITING_COUNTY if start.county else State.APPROVED
    return {
        "submit": State.SUBMITTED,
        "appraise": State.APPRAISED,
        "second_review": State.REVIEWED,
        "publish": State.IN_NOTICE,
        "county_approve": State.APPROVED,
        "return": State.RETURNED,
        "reject": State.REJECTED,
        "withdraw": State.WITHDRAWN,
    }[step]


def allowed_problems(step: str, start: Start, app: Application, actor, seen: Seen) -> list[str]:
    problems = []
    if seen.outcome != "done":
        return [f"refused ({seen.outcome})"]
    target = expected_target(step, start)
    after = seen.after
    if after["state"] != target:
        problems.append(f"state {after['state']}, expected {target}")
    wanted_returned_to = State.DRAFT if step == "return" else ""
    if after["returned_to"] != wanted_returned_to:
        problems.append(f"returned_to {after['returned_to']!r}, expected {wanted_returned_to!r}")
    if step == "publish" and after["notice_id"] is None:
        problems.append("no notice set")
    if step == "return" and after["notice_id"] is not None:
        problems.append("still in the notice after return")
    if step not in ("publish", "return") and after["notice_id"] != seen.before["notice_id"]:
        problems.append("notice changed")
    if after["updated_at"] == seen.before["updated_at"]:
        problems.append("updated_at not touched")
    decided = target in (State.APPROVED, State.REJECTED, State.WITHDRAWN)
    if decided != (after["decided_at"] is not None):
        problems.append(f"decided_at {after['decided_at']} for {target}")

    on_app = [e for e in seen.events if is_on(e, app)]
    actions = [e.action for e in on_app]
    if actions != [f"application.{step}"]:
        problems.append(f"events on the application {actions}, expected one application.{step}")
    else:
        event = on_app[0]
        from_state = f"{start.state}:{start.returned_to}" if start.returned_to else start.state
        to_state = f"{target}:{State.DRAFT}" if step == "return" else target
        if (event.from_state, event.to_state) != (from_state, to_state):
            problems.append(f"event {event.from_state} -> {event.to_state}")
        if event.actor_id != actor.pk:
            problems.append(f"event actor {event.actor_id}, expected {actor.pk}")
        if step in NEEDS_REASON and event.reason != REASON:
            problems.append(f"event reason {event.reason!r}")
    others = sorted(e.action for e in seen.events if not is_on(e, app))
    wanted_others = {"appraise": ["appraisal.record"], "publish": ["notice.publish"]}.get(step, [])
    if others != wanted_others:
        problems.append(f"other events {others}, expected {wanted_others}")
    if (seen.meetings, seen.notices) != (int(step == "appraise"), int(step == "publish")):
        problems.append(f"{seen.meetings} meetings and {seen.notices} notices recorded")
    return problems


def refused_problems(seen: Seen) -> list[str]:
    problems = []
    if not seen.outcome.startswith("refused"):
        problems.append(f"not refused ({seen.outcome})")
    if seen.after != seen.before:
        changed = {k: (seen.before[k], v) for k, v in seen.after.items() if seen.before[k] != v}
        problems.append(f"row changed {changed}")
    if seen.events:
        problems.append(f"events written {[e.action for e in seen.events]}")
    if seen.meetings or seen.notices:
        problems.append(f"{seen.meetings} meetings and {seen.notices} notices recorded")
    return problems


def check_every_persona(step: str, start: Start, app, actors, campaign, village) -> list[str]:
    """Each persona tries the step; returns what went against the table."""
    allowed = EXPECTED[step].get(start.stage, frozenset())  # none once decided
    failures = []
    for name in PERSONAS:
        actor = actors[name]
        # The page offers the step's button to the same people (appraise and
        # publish are taken for a batch, from the meeting and notice pages).
        if step not in ("appraise", "publish"):
            offered = step in {s.name for s in available(actor, app)}
            if offered != (name in allowed):
                failures.append(f"{name}: the page {'offers' if offered else 'hides'} {step}")
        seen = observe(app.pk, lambda a=actor: attempt(step, a, app, campaign, village))
        if name in allowed:
            problems = allowed_problems(step, start, app, actor, seen)
            verdict = "should be allowed"
        else:
            problems = refused_problems(seen)
            verdict = "should be refused"
        failures += [f"{name} ({verdict}): {p}" for p in problems]
    return failures


# -- the matrix -----------------------------------------------------------------------


def test_the_tables_cover_every_state_and_step():
    assert set(STARTS) == set(State.values)
    assert set(EXPECTED) == set(STEPS)


@pytest.mark.parametrize("step", list(EXPECTED))
@pytest.mark.parametrize("state", list(STARTS))
def test_step_from_state_as_every_persona(
    state, step, actors, people, campaign, household_a, county_category
):
    start = STARTS[state]
    app = build(start, people, campaign, household_a, county_category)
    failures = check_every_persona(step, start, app, actors, campaign, household_a.village)
    assert not failures, f"{step} from {state}:\n" + "\n".join(failures)


@pytest.mark.parametrize("step", list(EXPECTED))
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_step_from_variant_as_every_persona(
    variant, step, actors, people, campaign, household_a, county_category
):
    start = VARIANTS[variant]
    app = build(start, people, campaign, household_a, county_category)
    failures = check_every_persona(step, start, app, actors, campaign, household_a.village)
    assert not failures, f"{step} from {variant}:\n" + "\n".join(failures)


# -- targeted -------------------------------------------------------------------------


def test_returned_to_submitted_is_appraised_again_by_the_village_clerk(
    people, campaign, household_a, county_category
):
    start = VARIANTS["returned_to_submitted"]
    app = build(start, people, campaign, household_a, county_category)
    assert (app.state, app.returned_to) == (State.RETURNED, State.SUBMITTED)
    last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()

    services.record_appraisal(
        people.clerk_a,
        campaign,
        household_a.village,
        held_on=timezone.localdate(),
        members="村支书、村委委员、村民代表",
        votes=[services.Vote(app.pk, True, 6, 1, 0)],
    )

    app.refresh_from_db()
    assert (app.state, app.returned_to) == (State.APPRAISED, "")
    events = [e for e in AuditEvent.objects.filter(pk__gt=last) if is_on(e, app)]
    assert [(e.action, e.from_state, e.to_state) for e in events] == [
        ("application.appraise", "returned:submitted", State.APPRAISED)
    ]
    assert AppraisalMeeting.objects.filter(votes__application=app).count() == 2


# The (starting state, step) pairs that some persona may take.
ALLOWED_PAIRS = [
    (state, step)
    for state, start in STARTS.items()
    for step, stages in EXPECTED.items()
    if state not in (State.APPROVED, State.REJECTED, State.WITHDRAWN) and start.stage in stages
]


@pytest.mark.parametrize("status", [CampaignStatus.CLOSED, CampaignStatus.ARCHIVED])
@pytest.mark.parametrize(("state", "step"), ALLOWED_PAIRS)
def test_a_campaign_not_open_refuses_every_step(
    state, step, status, actors, people, campaign, household_a, county_category
):
    start = STARTS[state]
    app = build(start, people, campaign, household_a, county_category)
    type(campaign).objects.filter(pk=campaign.pk).update(status=status)
    campaign.refresh_from_db()
    failures = []
    for name in sorted(EXPECTED[step][start.stage]):
        seen = observe(
            app.pk,
            lambda a=actors[name]: attempt(step, a, app, campaign, household_a.village),
        )
        failures += [f"{name}: {p}" for p in refused_problems(seen)]
    assert not failures, f"{step} from {state} in a {status} campaign:\n" + "\n".join(failures)


REASONED = [(state, step) for state, step in ALLOWED_PAIRS if step in NEEDS_REASON]


@pytest.mark.parametrize("reason", ["", "   \n"])
@pytest.mark.parametrize(("state", "step"), REASONED)
def test_a_step_that_needs_a_reason_refuses_an_empty_one(
    state, step, reason, actors, people, campaign, household_a, county_category
):
    start = STARTS[state]
    app = build(start, people, campaign, household_a, county_category)
    failures = []
    for name in sorted(EXPECTED[step][start.stage]):
        seen = observe(
            app.pk,
            lambda a=actors[name]: attempt(
                step, a, app, campaign, household_a.village, reason=reason
            ),
        )
        failures += [f"{name}: {p}" for p in refused_problems(seen)]
    assert not failures, f"{step} from {state} with reason {reason!r}:\n" + "\n".join(failures)


def test_every_step_that_needs_a_reason_is_covered():
    assert {step for step in STEPS if STEPS[step].needs_reason} == NEEDS_REASON
    assert {step for _state, step in REASONED} == NEEDS_REASON


@pytest.mark.parametrize("state", list(REVIEW_STAGES))
def test_return_goes_back_to_each_earlier_stage_and_no_other(
    state, actors, people, campaign, household_a, county_category
):
    start = STARTS[state]
    app = build(start, people, campaign, household_a, county_category)
    path = State.forward()
    earlier = path[: path.index(state)]
    failures = []
    for to_stage in [*State.values, "nonsense"]:
        seen = observe(
            app.pk,
            lambda t=to_stage: attempt(
                "return", people.superuser, app, campaign, household_a.village, to_stage=t
            ),
        )
        if to_stage in earlier:
            if seen.outcome != "done" or (seen.after["state"], seen.after["returned_to"]) != (
                State.RETURNED,
                to_stage,
            ):
                failures.append(f"to {to_stage}: {seen.outcome}, {seen.after}")
            elif [e.to_state for e in seen.events] != [f"{State.RETURNED}:{to_stage}"]:
                failures.append(f"to {to_stage}: events {[e.to_state for e in seen.events]}")
            # Back to the township's approval the notice that ran stands;
            # anywhere earlier a new notice will list it.
            kept = seen.before["notice_id"] if to_stage == State.IN_NOTICE else None
            if seen.after["notice_id"] != kept:
                failures.append(f"to {to_stage}: notice {seen.after['notice_id']}, expected {kept}")
        else:
            failures += [f"to {to_stage}: {p}" for p in refused_problems(seen)]
    assert not failures, f"return from {state}:\n" + "\n".join(failures)


def test_a_persona_does_not_act_on_another_villages_application(
    actors, people, campaign, household_b, county_category
):
    """The mirror image: village B's application is clerk_b's, not clerk_a's."""
    app = build(STARTS[State.DRAFT], people, campaign, household_b, county_category)
    done = {
        name
        for name in PERSONAS
        if observe(
            app.pk, lambda a=actors[name]: attempt("submit", a, app, campaign, household_b.village)
        ).outcome
        == "done"
    }
    assert done == {"clerk_b", "township_clerk", "superuser"}


def test_an_appraisal_of_another_village_cannot_list_this_villages_application(
    actors, people, campaign, household_a, county_category, areas
):
    """clerk_b may record village B's meetings, but not decide village A's application there."""
    app = build(STARTS[State.SUBMITTED], people, campaign, household_a, county_category)
    seen = observe(app.pk, lambda: attempt("appraise", people.clerk_b, app, campaign, areas.b))
    assert refused_problems(seen) == []
