"""The application workflow: which step moves an application from which stage
to which state, who may take it, and the one engine every step runs through.

`run()` takes a step on a batch of applications: it locks the rows, checks
each one (campaign open, stage, the actor's role in the application's area,
the deadline, 回避, and the step's own rules), moves those that pass with one
UPDATE per target state and writes one audit event each, and reports the
others with the reason. A single action is a batch of one, so the clerk's
button and the reviewer's "approve all 10,000" check exactly the same things.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from applications import rules
from applications.choices import State
from applications.models import Application
from campaigns.choices import ApprovalLevel, CampaignStatus, Deliverable
from campaigns.models import Campaign
from campaigns.services import check_deadline
from relief.models import Area, AuditEvent, User


class WorkflowError(Exception):
    """A refusal to show the user, in their language."""

    def __init__(self, message: str, refused: list[tuple[Application, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.refused = refused or []


ADD = "applications.add_application"
APPRAISE = "applications.appraise_application"
REVIEW = "applications.review_application"
SECOND_REVIEW = "applications.second_review_application"
PUBLISH = "applications.add_notice"
APPROVE = "applications.approve_application"
COUNTY_APPROVE = "applications.county_approve_application"

# Who acts on an application waiting at each stage: they may also return or
# reject it there.
STAGE_PERM = {
    State.DRAFT: ADD,
    State.SUBMITTED: APPRAISE,
    State.APPRAISED: REVIEW,
    State.FIRST_REVIEWED: SECOND_REVIEW,
    State.REVIEWED: PUBLISH,
    State.IN_NOTICE: APPROVE,
    State.AWAITING_COUNTY: COUNTY_APPROVE,
}
UNDER_REVIEW = tuple(s for s in STAGE_PERM if s != State.DRAFT)


@dataclass(frozen=True)
class Step:
    name: str
    label: Promise
    sources: tuple[str, ...]  # the stages it acts on
    perm: str | None  # None: the permission of the stage (return, reject)
    deliverable: str = ""  # the deadline it must meet
    needs_reason: bool = False
    review: bool = False  # a decision on the household: 回避 applies


STEPS: dict[str, Step] = {
    s.name: s
    for s in [
        Step(
            "submit",
            gettext_lazy("Submit"),
            (State.DRAFT,),
            ADD,
            deliverable=Deliverable.APPLICATIONS,
        ),
        Step(
            "appraise",
            gettext_lazy("Village appraisal passed"),
            (State.SUBMITTED,),
            APPRAISE,
            deliverable=Deliverable.VILLAGE_LIST,
            review=True,
        ),
        Step(
            "first_review",
            gettext_lazy("Pass the first review"),
            (State.APPRAISED,),
            REVIEW,
            deliverable=Deliverable.TOWNSHIP_LIST,
            review=True,
        ),
        Step(
            "second_review",
            gettext_lazy("Pass the second review"),
            (State.FIRST_REVIEWED,),
            SECOND_REVIEW,
            review=True,
        ),
        Step("publish", gettext_lazy("Put in public notice"), (State.REVIEWED,), PUBLISH),
        Step("approve", gettext_lazy("Approve"), (State.IN_NOTICE,), APPROVE, review=True),
        Step(
            "county_approve",
            gettext_lazy("Approve for the county"),
            (State.AWAITING_COUNTY,),
            COUNTY_APPROVE,
            review=True,
        ),
        Step(
            "return",
            gettext_lazy("Return"),
            UNDER_REVIEW,
            None,
            needs_reason=True,
            review=True,
        ),
        Step("reject", gettext_lazy("Reject"), UNDER_REVIEW, None, needs_reason=True, review=True),
        Step(
            "withdraw",
            gettext_lazy("Withdraw"),
            (State.DRAFT, State.SUBMITTED),
            ADD,
            needs_reason=True,
        ),
    ]
}


def perm_for(step: Step, stage: str) -> str:
    return step.perm or STAGE_PERM[stage]


def target(step: Step, app: Application) -> str:
    """The state the step moves this application to."""
    if step.name == "first_review":
        return State.FIRST_REVIEWED if app.campaign.second_review else State.REVIEWED
    if step.name == "approve":
        above = ApprovalLevel.rank(app.approval_level) > ApprovalLevel.rank(ApprovalLevel.TOWNSHIP)
        return State.AWAITING_COUNTY if above else State.APPROVED
    return {
        "submit": State.SUBMITTED,
        "appraise": State.APPRAISED,
        "second_review": State.REVIEWED,
        "publish": State.IN_NOTICE,
        "county_approve": State.APPROVED,
        "return": State.RETURNED,
        "reject": State.REJECTED,
        "withdraw": State.WITHDRAWN,
    }[step.name]


def available(user: User, app: Application) -> list[Step]:
    """The steps the user may try on this application now (for the buttons;
    `run()` checks everything again)."""
    if app.campaign.status != CampaignStatus.OPEN:
        return []
    return [
        s
        for s in STEPS.values()
        if s.name not in ("appraise", "publish")  # taken for a batch: meeting, notice
        and app.stage in s.sources
        and user.has_perm(perm_for(s, app.stage), app)
    ]


@dataclass
class Result:
    done: list[Application] = field(default_factory=list)
    refused: list[tuple[Application, str]] = field(default_factory=list)

    def raise_if_refused(self) -> None:
        if self.refused:
            _app, message = self.refused[0]
            raise WorkflowError(message, self.refused)


# A step's own rules: given the batch that passed the common checks, return
# {id: refusal}; it may change fields on the rows (listed in `Extra.fields`).
Check = Callable[[User, list[Application], datetime.date], rules.Refusals]


@dataclass
class Extra:
    check: Check | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # the same for every row
    per_row: tuple[str, ...] = ()  # fields the check set row by row
    data: dict[str, Any] = field(default_factory=dict)  # into each event


def _township(village: Area) -> Area:
    return village.parent if village.parent_id else village


def run(
    actor: User,
    name: str,
    applications: QuerySet[Application] | Iterable[int],
    *,
    reason: str = "",
    comment: str = "",
    to_stage: str = "",
    on: datetime.date | None = None,
    extra: Extra | None = None,
) -> Result:
    """Take step `name` on the applications; see the module's docstring."""
    step = STEPS[name]
    extra = extra or Extra()
    on = on or timezone.localdate()
    reason = reason.strip()
    if step.needs_reason and not reason:
        raise WorkflowError(_("Give a reason."))
    result = Result()
    with transaction.atomic():
        ids = (
            applications.values("pk") if isinstance(applications, QuerySet) else list(applications)
        )
        _hold_campaigns(Application.objects.filter(pk__in=ids).values("campaign_id"))
        rows = list(
            Application.objects.select_for_update(of=("self",))
            .filter(pk__in=ids)
            .select_related("campaign__kind", "village__parent", "notice", "household")
            .order_by("pk")
        )
        passing = _common_checks(actor, step, rows, reason, to_stage, on, result)
        if step.review and passing:
            passing = _drop(passing, rules.recused(actor, passing), result)
        if extra.check and passing:
            passing = _drop(passing, extra.check(actor, passing, on), result)
        _move(actor, step, passing, reason, comment, to_stage, on, extra)
        result.done = passing
    return result


def _hold_campaigns(campaign_ids: QuerySet) -> None:
    """Hold the campaigns against a change of status while the step runs: it
    read them open, and closing one (which locks it for update) must wait.
    FOR SHARE lets steps in one campaign run side by side; SQLite, which
    writes one transaction at a time, needs nothing."""
    if connection.vendor != "postgresql":
        return
    try:
        query, params = campaign_ids.query.sql_with_params()
    except EmptyResultSet:  # no application given: nothing to hold
        return
    table = Campaign._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE id IN ({query}) ORDER BY id FOR SHARE", params
        )


def _drop(rows: list[Application], refusals: rules.Refusals, result: Result) -> list[Application]:
    result.refused.extend((a, refusals[a.pk]) for a in rows if a.pk in refusals)
    return [a for a in rows if a.pk not in refusals]


def _common_checks(
    actor: User,
    step: Step,
    rows: list[Application],
    reason: str,
    to_stage: str,
    on: datetime.date,
    result: Result,
) -> list[Application]:
    deadlines: dict[tuple[int, int], Any] = {}
    passing = []
    for app in rows:
        message = ""
        if app.campaign.status != CampaignStatus.OPEN:
            message = _("The campaign %(campaign)s is not open.") % {"campaign": app.campaign}
        elif app.stage not in step.sources or app.state in (State.REJECTED, State.WITHDRAWN):
            message = _("Application %(number)s is %(state)s: it cannot be given “%(step)s”.") % {
                "number": app.number,
                "state": _state_words(app),
                "step": step.label,
            }
        elif not actor.has_perm(perm_for(step, app.stage), app):
            message = _("You may not do “%(step)s” on application %(number)s.") % {
                "step": step.label,
                "number": app.number,
            }
        elif step.name == "return" and to_stage not in State.before(app.stage):
            message = _("Application %(number)s cannot be returned to “%(stage)s”.") % {
                "number": app.number,
                "stage": State(to_stage).label if to_stage in State.values else to_stage,
            }
        elif step.deliverable:
            area = (
                app.village
                if step.deliverable != Deliverable.TOWNSHIP_LIST
                else _township(app.village)
            )
            key = (app.campaign_id, area.pk)
            if key not in deadlines:
                deadlines[key] = check_deadline(app.campaign, step.deliverable, area, on)
            found = deadlines[key]
            if found.refused:
                message = str(found.message)
            elif found.late:
                app.late = True
        if message:
            result.refused.append((app, message))
        else:
            passing.append(app)
    return passing


def _state_words(app: Application) -> str:
    if app.state == State.RETURNED and app.returned_to:
        return _("returned to “%(stage)s”") % {"stage": State(app.returned_to).label}
    return str(app.get_state_display())


CHUNK = 500  # ids per statement: well inside SQLite's and PostgreSQL's limits


def _move(
    actor: User,
    step: Step,
    rows: list[Application],
    reason: str,
    comment: str,
    to_stage: str,
    on: datetime.date,
    extra: Extra,
) -> None:
    if not rows:
        return
    now = timezone.now()
    by_target: dict[str, list[Application]] = {}
    for app in rows:
        by_target.setdefault(target(step, app), []).append(app)
    events = []
    content_type = ContentType.objects.get_for_model(Application)
    for state, group in by_target.items():
        fields: dict[str, Any] = {
            "state": state,
            "returned_to": to_stage if state == State.RETURNED else "",
            "updated_at": now,
            **extra.fields,
        }
        if state in (State.APPROVED, State.REJECTED, State.WITHDRAWN):
            fields["decided_at"] = now
        if state == State.RETURNED and to_stage != State.IN_NOTICE:
            # Back in review: a new notice will list it. Returned to the
            # township's approval (from the county) its notice stands.
            fields["notice"] = None
        for start in range(0, len(group), CHUNK):
            chunk = [a.pk for a in group[start : start + CHUNK]]
            Application.objects.filter(pk__in=chunk).update(**fields)
        if extra.per_row:
            Application.objects.bulk_update(group, list(extra.per_row), batch_size=CHUNK)
        for app in group:
            data = {"step": step.name, **extra.data}
            if comment:
                data["comment"] = comment
            if app.late and step.deliverable:
                data["late"] = True
            events.append(
                AuditEvent(
                    at=now,
                    actor=actor if actor.pk else None,
                    action=f"application.{step.name}",
                    target_type=content_type,
                    target_id=str(app.pk),
                    target_repr=app.number,
                    area_id=app.village_id,
                    from_state=_from(app),
                    to_state=state if state != State.RETURNED else f"{state}:{to_stage}",
                    reason=reason,
                    data=data,
                )
            )
            app.state = state
            app.returned_to = fields["returned_to"]
    AuditEvent.objects.bulk_create(events, batch_size=CHUNK)


def _from(app: Application) -> str:
    return f"{app.state}:{app.returned_to}" if app.state == State.RETURNED else app.state
