"""Screens of the application workflow. Each view reads through the scoped
querysets and hands decisions to applications.services; a refusal comes back
as a message in the user's language, never an error page."""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q, QuerySet, Sum
from django.http import FileResponse, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from applications import rules, services, workflow
from applications.choices import State
from applications.forms import (
    ApplicationFilterSet,
    ApplicationForm,
    AttachmentForm,
    BulkForm,
    MeetingForm,
    NoticeForm,
    ObjectionForm,
    RecusalForm,
    ResolveForm,
    StepForm,
    areas_within,
)
from applications.household import recusal_users
from applications.models import Application, Attachment, Notice, Objection
from applications.queue import my_work
from applications.services import WorkflowError
from campaigns.calculation import fmt
from campaigns.models import Campaign
from campaigns.services import due_next, working_areas
from recipients.models import Household
from relief.access import requires
from relief.choices import AreaLevel
from relief.models import Area, AuditEvent, User
from relief.pagination import paginate
from relief.scoping import allows
from relief.text import whole_number

VIEW = "applications.view_application"
NEAR_DAYS = 3  # a deadline this close is announced on the queue


def _campaign(request: HttpRequest, pk: int) -> Campaign:
    return get_object_or_404(
        Campaign.objects.restrict(request.user).select_related("area", "kind"), pk=pk
    )


def _applications(request: HttpRequest) -> QuerySet[Application]:
    return Application.objects.restrict(request.user)


@requires(VIEW)
def queue(request: HttpRequest, pk: int) -> HttpResponse:
    """A campaign's applications: the user's work first, filters, counts per
    state and village, and the bulk actions."""
    campaign = _campaign(request, pk)
    scoped = _applications(request).filter(campaign=campaign)
    filterset = ApplicationFilterSet(
        request.GET or None, scoped, user=request.user, campaign=campaign
    )
    applications = filterset.qs
    mine = request.GET.get("mine") == "1"
    if mine:
        applications = my_work(request.user, applications)
    applications = applications.select_related("household", "village", "category").order_by(
        "village__code", "number"
    )
    page = paginate(request, applications)
    counts = _counts(scoped)
    filters = request.GET.copy()
    for key in ("page", "per_page"):
        filters.pop(key, None)
    return render(
        request,
        "applications/queue.html",
        {
            "campaign": campaign,
            "filterset": filterset,
            "page": page,
            "mine": mine,
            "waiting": my_work(request.user, scoped).count(),
            "counts": counts,
            "deadlines": _deadlines(request.user, campaign),
            "bulk_steps": _bulk_steps(request.user),
            "stages": State.forward()[:-1],
            "filters": filters.urlencode(),
            "can_enter": request.user.has_perm(workflow.ADD),
            # Ledger and statistics cover the whole campaign (documents.views).
            "can_export": allows(request.user, VIEW, campaign.area),
            "can_appraise": request.user.has_perm(workflow.APPRAISE),
            "can_publish": request.user.has_perm(workflow.PUBLISH),
        },
    )


def _counts(applications: QuerySet[Application]) -> dict[str, Any]:
    """Applications per state per village, with totals: one grouped query."""
    rows = applications.values("village_id", "village__name", "village__code", "state").annotate(
        n=Count("pk"), total=Sum("amount")
    )
    villages: dict[str, dict[str, Any]] = {}
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        village = villages.setdefault(
            row["village__code"],
            {"pk": row["village_id"], "name": row["village__name"], "states": defaultdict(int)},
        )
        village["states"][row["state"]] += row["n"]
        totals[row["state"]] += row["n"]
    states = [s for s in State.values if totals.get(s)]
    table = [
        {
            "pk": v["pk"],
            "name": v["name"],
            "cells": [v["states"].get(s, 0) for s in states],
            "approved": v["states"].get(State.APPROVED, 0),
        }
        for _code, v in sorted(villages.items())
    ]
    return {
        "states": [(s, State(s).label) for s in states],
        "rows": table,
        "totals": [totals[s] for s in states],
    }


def _deadlines(user: User, campaign: Campaign) -> dict[str, list]:
    """The user's deadlines that have passed or fall within NEAR_DAYS."""
    today = timezone.localdate()
    overdue, upcoming = due_next(campaign, working_areas(user, campaign), today, limit=5)
    near = [d for d in upcoming if d.due_on <= today + datetime.timedelta(days=NEAR_DAYS)]
    return {"overdue": overdue, "near": near}


def _bulk_steps(user: User) -> list[tuple[str, str]]:
    steps = []
    for name in BulkForm.STEPS:
        step = workflow.STEPS[name]
        perms = [step.perm] if step.perm else list(workflow.STAGE_PERM.values())[1:]
        if any(user.has_perm(p) for p in perms):
            steps.append((name, str(step.label)))
    return steps


@requires(VIEW)
@require_POST
def bulk(request: HttpRequest, pk: int) -> HttpResponse:
    """Take one step on the selected applications, or on all that match the
    filters; those refused are listed with the reason."""
    campaign = _campaign(request, pk)
    scoped = _applications(request).filter(campaign=campaign)
    form = BulkForm(request.POST, applications=scoped)
    back = reverse("applications:queue", args=[campaign.pk])
    if not form.is_valid():
        messages.error(request, _("Choose an action and the applications."))
        return redirect(back)
    data = form.cleaned_data
    filters = QueryDict(data["filters"])
    if data["everything"]:
        filterset = ApplicationFilterSet(filters, scoped, user=request.user, campaign=campaign)
        if not filterset.is_valid():
            # An invalid filter would be dropped and widen the action.
            messages.error(request, _("The filters are not valid: nothing was done."))
            return redirect(back)
        chosen = filterset.qs
        if filters.get("mine") == "1":
            chosen = my_work(request.user, chosen)
    else:
        chosen = data["ids"]
    if not chosen.exists():
        messages.error(request, _("No application was chosen."))
        return redirect(f"{back}?{filters.urlencode()}")
    try:
        result = services.take(
            request.user,
            data["step"],
            chosen,
            reason=data["reason"],
            comment=data["comment"],
            to_stage=data["to_stage"],
        )
    except WorkflowError as error:
        messages.error(request, error.message)
    else:
        if result.done:
            messages.success(
                request,
                _("%(step)s: %(count)d applications.")
                % {"step": workflow.STEPS[data["step"]].label, "count": len(result.done)},
            )
        for app, reason in result.refused[:20]:
            messages.warning(request, f"{app.number}：{reason}")
        if len(result.refused) > 20:
            messages.warning(
                request, _("…and %(count)d more refused.") % {"count": len(result.refused) - 20}
            )
    return redirect(f"{back}?{filters.urlencode()}")


@requires(workflow.ADD)
def entry(request: HttpRequest, pk: int) -> HttpResponse:
    """The entry screen, built for a run of households typed in one after the
    other: Enter saves and submits, the cursor goes back to the household."""
    campaign = _campaign(request, pk)
    initial = {"household": request.GET.get("household", "")}
    form = ApplicationForm(
        request.POST or None, user=request.user, campaign=campaign, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        submit = "draft" not in request.POST
        try:
            app = services.create_application(
                request.user, campaign, form.cleaned_data["household"], form.entry(), submit=submit
            )
        except WorkflowError as error:
            form.add_error(None, error.message)
        else:
            text = (
                _("%(number)s saved and submitted: %(amount)s yuan.")
                if submit
                else _("%(number)s saved as a draft.")
            )
            messages.success(request, text % {"number": app.number, "amount": fmt(app.amount)})
            return redirect("applications:entry", pk=campaign.pk)
    recent = (
        _applications(request)
        .filter(campaign=campaign, created_by=request.user)
        .select_related("household", "category")
        .order_by("-created_at")[:10]
    )
    return render(
        request,
        "applications/entry.html",
        {"campaign": campaign, "form": form, "recent": recent},
        status=400 if form.errors else 200,
    )


def _application(request: HttpRequest, pk: int) -> Application:
    return get_object_or_404(
        _applications(request).select_related(
            "campaign__area",
            "campaign__kind",
            "household",
            "village",
            "category",
            "notice",
            "fund_source",
        ),
        pk=pk,
    )


@requires(VIEW)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    app = _application(request, pk)
    events = (
        AuditEvent.objects.filter(
            target_type=ContentType.objects.get_for_model(Application), target_id=str(app.pk)
        )
        .select_related("actor")
        .order_by("at", "id")
    )
    user = request.user
    steps = workflow.available(user, app)
    today = timezone.localdate()
    waiting_for = ""
    if any(s.name == "approve" for s in steps):
        waiting_for = rules.notice_pending([app], today).get(app.pk, "")
    received = min(today, app.notice.ends_on) if app.notice else today
    return render(
        request,
        "applications/detail.html",
        {
            "app": app,
            "members": app.household.members.all(),
            "also": app.also.all(),
            "events": events,
            "returned": events.filter(action="application.return").last()
            if app.state == State.RETURNED
            else None,
            "waiting_for": waiting_for,
            "attachments": app.attachments.all(),
            "objections": app.objections.select_related("recorded_by", "resolved_by"),
            "appraisals": app.appraisals.select_related("meeting"),
            "steps": [s for s in steps if s.name not in ("return", "reject", "withdraw")],
            "can_return": any(s.name == "return" for s in steps),
            "can_reject": any(s.name == "reject" for s in steps),
            "can_withdraw": any(s.name == "withdraw" for s in steps),
            "return_to": [(s, State(s).label) for s in State.before(app.stage)],
            "can_edit": app.editable and user.has_perm("applications.change_application", app),
            "can_attach": user.has_perm("applications.add_attachment", app),
            "can_object": app.state == State.IN_NOTICE
            and user.has_perm("applications.add_objection", app),
            "can_resolve": user.has_perm("applications.change_objection", app),
            "objection_form": ObjectionForm(initial={"received_on": received}),
            "resolve_form": ResolveForm(),
            "attachment_form": AttachmentForm(),
        },
    )


@requires(VIEW)
@require_POST
def act(request: HttpRequest, pk: int) -> HttpResponse:
    app = _application(request, pk)
    form = StepForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The request was not understood: nothing was done."))
    else:
        data = form.cleaned_data
        try:
            services.take_step(
                request.user,
                app,
                data["step"],
                reason=data["reason"],
                comment=data["comment"],
                to_stage=data["to_stage"],
            )
        except WorkflowError as error:
            messages.error(request, error.message)
        else:
            app.refresh_from_db()
            messages.success(
                request,
                _("%(number)s is now %(state)s.")
                % {"number": app.number, "state": app.get_state_display()},
            )
    return redirect("applications:detail", pk=app.pk)


@requires("applications.change_application")
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    app = _application(request, pk)
    if not app.editable:
        messages.error(
            request,
            _("Application %(number)s is %(state)s and can no longer be changed.")
            % {"number": app.number, "state": app.get_state_display()},
        )
        return redirect("applications:detail", pk=app.pk)
    form = ApplicationForm(
        request.POST or None, user=request.user, campaign=app.campaign, application=app
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_application(request.user, app, form.entry())
        except WorkflowError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Application saved."))
            return redirect("applications:detail", pk=app.pk)
    return render(
        request,
        "applications/edit.html",
        {"app": app, "campaign": app.campaign, "form": form},
        status=400 if form.errors else 200,
    )


@requires("applications.add_attachment")
@require_POST
def attach(request: HttpRequest, pk: int) -> HttpResponse:
    app = _application(request, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a file to attach."))
    else:
        try:
            services.attach(
                request.user, app, form.cleaned_data["file"], form.cleaned_data["description"]
            )
        except WorkflowError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("File attached."))
    return redirect("applications:detail", pk=app.pk)


@requires("applications.view_attachment")
def attachment(request: HttpRequest, pk: int) -> FileResponse:
    found = get_object_or_404(Attachment.objects.restrict(request.user), pk=pk)
    return FileResponse(found.file.open("rb"), filename=found.name, content_type=found.content_type)


@requires("applications.add_objection")
@require_POST
def objection_create(request: HttpRequest, pk: int) -> HttpResponse:
    app = _application(request, pk)
    form = ObjectionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Fill in the date, how it came and what it says."))
    else:
        try:
            services.record_objection(request.user, app, **form.cleaned_data)
        except WorkflowError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("Objection recorded: the application cannot be approved until it is resolved."),
            )
    return redirect("applications:detail", pk=app.pk)


@requires("applications.change_objection")
@require_POST
def objection_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    objection = get_object_or_404(Objection.objects.restrict(request.user), pk=pk)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the outcome and write down the finding."))
    else:
        try:
            services.resolve_objection(
                request.user,
                objection,
                upheld=form.cleaned_data["outcome"] == "upheld",
                finding=form.cleaned_data["finding"],
            )
        except WorkflowError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Objection resolved."))
    return redirect("applications:detail", pk=objection.application_id)


@requires(workflow.APPRAISE)
def appraisal(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a village appraisal meeting and its outcome per application."""
    campaign = _campaign(request, pk)
    villages = areas_within(request.user, workflow.APPRAISE, campaign, AreaLevel.VILLAGE)
    chosen = whole_number(request.GET.get("village") or request.POST.get("village"))
    village = villages.filter(pk=chosen).first() if chosen is not None else None
    if village is None and len(villages) == 1:
        village = villages[0]
    waiting = (
        Application.objects.restrict(request.user, perm=workflow.APPRAISE)
        .filter(campaign=campaign, village=village)
        .at_stage(State.SUBMITTED)
        .select_related("household", "category")
        .order_by("number")
        if village
        else Application.objects.none()
    )
    form = MeetingForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and village is not None and form.is_valid():
        votes = _votes(request, waiting)
        try:
            services.record_appraisal(
                request.user,
                campaign,
                village,
                held_on=form.cleaned_data["held_on"],
                members=form.cleaned_data["members"],
                minutes=form.cleaned_data["minutes"],
                scan=form.cleaned_data["scan"],
                votes=votes,
            )
        except WorkflowError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("Appraisal recorded for %(count)d applications.") % {"count": len(votes)},
            )
            return redirect("applications:queue", pk=campaign.pk)
    return render(
        request,
        "applications/appraisal.html",
        {
            "campaign": campaign,
            "villages": villages,
            "village": village,
            "waiting": waiting,
            "form": form,
        },
        status=400 if form.errors else 200,
    )


def _votes(request: HttpRequest, waiting: QuerySet[Application]) -> list[services.Vote]:
    votes = []
    for app in waiting:
        outcome = request.POST.get(f"outcome_{app.pk}", "")
        if outcome not in ("passed", "failed"):
            continue  # not decided at this meeting
        votes.append(
            services.Vote(
                application=app.pk,
                passed=outcome == "passed",
                votes_for=whole_number(request.POST.get(f"for_{app.pk}", "")),
                votes_against=whole_number(request.POST.get(f"against_{app.pk}", "")),
                abstentions=whole_number(request.POST.get(f"abstain_{app.pk}", "")),
                remark=request.POST.get(f"remark_{app.pk}", "")[:200],
            )
        )
    return votes


@requires(workflow.PUBLISH)
def notice_create(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    areas = areas_within(request.user, workflow.PUBLISH, campaign, campaign.notice_level)
    form = NoticeForm(request.POST or None, areas=areas)
    if request.method == "POST" and form.is_valid():
        try:
            notice = services.publish_notice(request.user, campaign, **form.cleaned_data)
        except WorkflowError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("Public notice published: %(start)s to %(end)s.")
                % {"start": notice.starts_on.isoformat(), "end": notice.ends_on.isoformat()},
            )
            return redirect("applications:notice_detail", pk=notice.pk)
    waiting = (
        Application.objects.restrict(request.user, perm=workflow.PUBLISH)
        .filter(campaign=campaign)
        .at_stage(State.REVIEWED)
        .values("village__name")
        .annotate(n=Count("pk"))
        .order_by("village__name")
    )
    return render(
        request,
        "applications/notice_form.html",
        {"campaign": campaign, "form": form, "waiting": waiting},
        status=400 if form.errors else 200,
    )


@requires("applications.view_notice")
def notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    notice = get_object_or_404(
        Notice.objects.restrict(request.user).select_related("campaign", "area", "published_by"),
        pk=pk,
    )
    applications = (
        _applications(request)
        .filter(notice=notice)
        .select_related("household", "village", "category")
        .annotate(open_objections=Count("objections", filter=Q(objections__status="open")))
        .order_by("village__code", "number")
    )
    today = timezone.localdate()
    return render(
        request,
        "applications/notice_detail.html",
        {
            "notice": notice,
            "applications": applications,
            "total": applications.aggregate(total=Sum("amount"))["total"],
            "running": notice.running(today),
            "ended": today > notice.ends_on,
            # A township's notice is also printed village by village.
            "villages": Area.objects.filter(pk__in=applications.values("village")).order_by("code")
            if notice.area.level == AreaLevel.TOWNSHIP
            else [],
        },
    )


@requires("recipients.view_household")
@require_POST
def recusal_create(request: HttpRequest, pk: int) -> HttpResponse:
    household = get_object_or_404(Household.objects.restrict(request.user), pk=pk)
    users = recusal_users(request.user, household)
    form = RecusalForm(request.POST, users=users)
    if not form.is_valid():
        messages.error(request, _("Say how they are related."))
    else:
        who = form.cleaned_data.get("user") or request.user
        try:
            services.declare_recusal(request.user, who, household, form.cleaned_data["relation"])
        except WorkflowError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("%(user)s will not review this household's applications.") % {"user": who},
            )
    return redirect("recipients:household_detail", pk=household.pk)
