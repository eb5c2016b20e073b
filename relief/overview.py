"""The overview after sign-in (工作台): what is waiting for the user, what is
due, and what changed in their areas since their previous visit.

Every figure is read through `restrict()` with the permission of the step it
counts, so a section lists only what the user's roles may act on or see, and
only inside their areas. Each kind of record is read with one grouped query
across all open campaigns: the number of queries does not grow with the
number of campaigns, villages or applications.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from applications import workflow
from applications.choices import BEHIND_DEADLINE, ObjectionStatus, State
from applications.models import Application, AppraisalMeeting, Notice, Objection
from applications.queue import my_work
from campaigns.calculation import money
from campaigns.choices import CampaignStatus, Deliverable
from campaigns.models import Campaign, Deadline
from campaigns.services import due_next, working_areas
from disbursements import services as payments
from disbursements.choices import Action, Kind, PaymentState, ProxyStatus
from disbursements.models import Payment, ProxyException, SheetScan, VillageClosing
from recipients.models import Household
from relief.models import Area, AuditEvent, Job, JobStatus, RoleAssignment, User
from relief.scoping import perm_name

DUE_DAYS = 14  # deadlines and notice ends this close are listed
FALLBACK_SINCE = datetime.timedelta(days=7)  # "since" for a first visit
RECENT_FAILURES = datetime.timedelta(days=7)  # failed jobs shown this long
LISTED = 10  # objections and proxy requests listed one by one; the count is exact
CHANGES_LISTED = 20

VIEW_APPLICATION = "applications.view_application"
CHANGE_APPLICATION = "applications.change_application"
VIEW_NOTICE = "applications.view_notice"
OBJECTION_PERMS = ("applications.change_objection", "applications.add_objection")
VIEW_AUDIT = "relief.view_auditevent"
# Payments are still handed over and signed for in a closed campaign.
PAYING = (CampaignStatus.OPEN, CampaignStatus.CLOSED)

# Where the work of each application deliverable is done: the queue at that stage.
QUEUE_STATE = {
    Deliverable.APPLICATIONS: State.DRAFT,
    Deliverable.VILLAGE_LIST: State.SUBMITTED,
    Deliverable.TOWNSHIP_LIST: State.APPRAISED,
    Deliverable.NOTICE: State.IN_NOTICE,
}
PAYMENT_DELIVERABLES = (Deliverable.DISBURSEMENT, Deliverable.SIGNED_SHEETS)

# Records whose history the overview lists: the model's own view permission
# decides who sees its events, and where a link leads.
WATCHED: tuple[tuple[type, str | None], ...] = (
    (Application, "applications:detail"),
    (Notice, "applications:notice_detail"),
    (AppraisalMeeting, None),
    (Payment, "disbursements:payment"),
    (SheetScan, None),
    (VillageClosing, None),
    (Household, "recipients:household_detail"),
    (Campaign, "campaigns:campaign_detail"),
    (User, "user_detail"),
    (Area, None),
    (RoleAssignment, None),
)


@dataclass(frozen=True)
class WorkItem:
    """One line of "waiting for me": what, where, how many, and where to do it."""

    kind: str
    label: str
    count: int
    url: str
    campaign: str = ""
    place: str = ""
    amount: Decimal | None = None
    overdue: int = 0


@dataclass(frozen=True)
class DueItem:
    """A deadline or the end of a public notice."""

    on: datetime.date
    title: str
    campaign: str
    url: str
    days: int  # days left; negative once passed
    when: str  # the days in words
    overdue: bool = False  # passed and, as the records tell, not met
    outstanding: int | None = None  # still missing; None: the records do not tell
    hard: bool = False
    notice: bool = False


@dataclass(frozen=True)
class Change:
    at: datetime.datetime
    actor: str
    action: str
    record: str
    area: str
    url: str = ""


@dataclass
class Overview:
    since: datetime.datetime
    today: datetime.date
    waiting: list[WorkItem] = field(default_factory=list)
    due: list[DueItem] | None = None  # None: the user reads no campaign or notice
    changes: list[Change] | None = None  # None: the user may see no record's history
    change_counts: list[tuple[str, int]] = field(default_factory=list)
    changes_total: int = 0

    @property
    def waiting_total(self) -> int:
        return sum(item.count for item in self.waiting)

    @property
    def due_days(self) -> int:
        return DUE_DAYS


def since_for(user: User, now: datetime.datetime | None = None) -> datetime.datetime:
    """The previous visit, or a week ago for someone who never signed in before."""
    return user.previous_visit or (now or timezone.now()) - FALLBACK_SINCE


def overview(user: User, since: datetime.datetime, today: datetime.date | None = None) -> Overview:
    """The user's overview: a section is left empty (waiting) or None (due,
    changes) when none of the user's roles holds the permission it reads."""
    today = today or timezone.localdate()
    campaigns = list(
        Campaign.objects.restrict(user)
        .filter(status=CampaignStatus.OPEN)
        .select_related("area")
        .prefetch_related("deadlines")
    )
    result = Overview(since=since, today=today)
    result.waiting = [
        *_applications_waiting(user, campaigns),
        *_objections(user),
        *_proxies(user),
        *_payments_waiting(user, campaigns, today),
        *_jobs(user),
    ]
    if user.has_perm("campaigns.view_campaign") or user.has_perm(VIEW_NOTICE):
        result.due = sorted(
            [*_deadlines(user, campaigns, today), *_notices(user, today)],
            key=lambda d: (d.on, d.notice, d.campaign, d.title),
        )
    _changes(user, since, result)
    return result


# -- waiting for me -----------------------------------------------------------------------


def _queue(campaign_id: int, query: str) -> str:
    return f"{reverse('applications:queue', args=[campaign_id])}?{query}"


def _applications_waiting(user: User, campaigns: list[Campaign]) -> list[WorkItem]:
    """Per open campaign: the applications at the user's step, the drafts and
    returns the user's entering role must finish, the approved ones waiting for
    their payments to be planned. One grouped query each."""
    names = {c.pk: c.name for c in campaigns}
    found: dict[int, list[WorkItem]] = defaultdict(list)

    def add(row: dict, kind: str, label: str, url: str) -> None:
        pk = row["campaign_id"]
        found[pk].append(WorkItem(kind, label, row["n"], url, campaign=names[pk]))

    def per_campaign(applications: QuerySet[Application], *fields: str) -> QuerySet:
        return applications.values("campaign_id", *fields).annotate(n=Count("pk")).order_by()

    if any(user.has_perm(workflow.STAGE_PERM[s]) for s in workflow.UNDER_REVIEW):
        scoped = Application.objects.restrict(user).filter(campaign__in=list(names))
        for row in per_campaign(my_work(user, scoped)):
            label = _("Applications waiting for your step")
            add(row, "applications", label, _queue(row["campaign_id"], "mine=1"))
    if user.has_perm(CHANGE_APPLICATION):
        # Entering is the clerks' own work: drafts to submit, returns to correct.
        drafts = (
            Application.objects.restrict(user, perm=CHANGE_APPLICATION)
            .filter(campaign__in=list(names))
            .at_stage(State.DRAFT)
        )
        for row in per_campaign(drafts, "state"):
            if row["state"] == State.DRAFT:
                url = _queue(row["campaign_id"], "state=draft")
                add(row, "drafts", _("Drafts not submitted yet"), url)
            else:
                url = _queue(row["campaign_id"], "state=returned")
                add(row, "returned", _("Returned for correction"), url)
    if user.has_perm(payments.PLAN):
        closed = VillageClosing.objects.filter(
            campaign=OuterRef("campaign"), village=OuterRef("village")
        )
        unplanned = (
            Application.objects.restrict(user, perm=payments.PLAN)
            .filter(campaign__in=list(names), state=State.APPROVED)
            .filter(~Exists(Payment.objects.filter(application=OuterRef("pk"))), ~Exists(closed))
        )
        for row in per_campaign(unplanned):
            url = reverse("disbursements:campaign", args=[row["campaign_id"]])
            add(row, "to_plan", _("Approved, payments not planned yet"), url)
    return [item for pk in names for item in found.get(pk, [])]


def _union(model: type, user: User, perms: Iterable[str]) -> QuerySet:
    """The records inside the areas where the user holds any of `perms`."""
    found = model.objects.none()
    for perm in perms:
        if user.has_perm(perm):
            found = found | model.objects.restrict(user, perm=perm)
    return found


def _objections(user: User) -> list[WorkItem]:
    if not any(user.has_perm(p) for p in OBJECTION_PERMS):
        return []
    found = _union(Objection, user, OBJECTION_PERMS).filter(
        status=ObjectionStatus.OPEN, application__campaign__status=CampaignStatus.OPEN
    )
    total = found.count()
    rows = found.values(
        "application_id",
        "application__number",
        "application__village__name",
        "application__campaign__name",
    ).order_by("received_on", "pk")[:LISTED]
    items = [
        WorkItem(
            "objection",
            _("Open objection to %(number)s") % {"number": row["application__number"]},
            1,
            reverse("applications:detail", args=[row["application_id"]]),
            campaign=row["application__campaign__name"],
            place=row["application__village__name"],
        )
        for row in rows
    ]
    return items + _more("objections_more", total - len(items))


def _more(kind: str, count: int) -> list[WorkItem]:
    """The rest of a list cut at LISTED, as one line."""
    if count <= 0:
        return []
    return [WorkItem(kind, _("…and %(count)d more") % {"count": count}, count, "")]


def _proxies(user: User) -> list[WorkItem]:
    if not user.has_perm(payments.APPROVE_PROXY):
        return []
    found = ProxyException.objects.restrict(user, perm=payments.APPROVE_PROXY).filter(
        status=ProxyStatus.REQUESTED
    )
    total = found.count()
    rows = found.values(
        "payment_id",
        "payment__number",
        "payment__recipient_name",
        "payment__village__name",
        "payment__campaign__name",
        "name",
    ).order_by("requested_at", "pk")[:LISTED]
    items = [
        WorkItem(
            "proxy",
            _("Collection by a proxy to decide: %(recipient)s (proxy %(proxy)s)")
            % {"recipient": row["payment__recipient_name"], "proxy": row["name"]},
            1,
            reverse("disbursements:payment", args=[row["payment_id"]]),
            campaign=row["payment__campaign__name"],
            place=row["payment__village__name"],
        )
        for row in rows
    ]
    return items + _more("proxies_more", total - len(items))


def _per_village(found: QuerySet[Payment], **extra: object) -> QuerySet:
    return (
        found.values(
            "campaign_id", "campaign__name", "village_id", "village__name", "village__code"
        )
        .annotate(n=Count("pk"), **extra)
        .order_by("-campaign_id", "village__code")
    )


def _payments_waiting(
    user: User, campaigns: list[Campaign], today: datetime.date
) -> list[WorkItem]:
    items: list[WorkItem] = []
    if user.has_perm(payments.HAND_OVER):
        # The visiting team's day: planned for today or before (no date: any day).
        due = Payment.objects.restrict(user, perm=payments.HAND_OVER).filter(
            Q(planned_on__lte=today) | Q(planned_on=None),
            kind=Kind.PAYMENT,
            state=PaymentState.PLANNED,
            campaign__status__in=PAYING,
        )
        for row in _per_village(due, late=Count("pk", filter=Q(planned_on__lt=today))):
            items.append(
                WorkItem(
                    "visits",
                    _("Visits planned for today or overdue"),
                    row["n"],
                    reverse(
                        "disbursements:visit_list", args=[row["campaign_id"], row["village_id"]]
                    ),
                    campaign=row["campaign__name"],
                    place=row["village__name"],
                    overdue=row["late"],
                )
            )
    if user.has_perm(payments.SCAN):
        unsigned = Payment.objects.restrict(user, perm=payments.SCAN).filter(
            state=PaymentState.HANDED_OVER, campaign__status__in=PAYING
        )
        for row in _per_village(unsigned, total=Sum("amount")):
            url = reverse("disbursements:village", args=[row["campaign_id"], row["village_id"]])
            items.append(
                WorkItem(
                    "unsigned",
                    _("Handed over, no receipt yet"),
                    row["n"],
                    f"{url}?state={PaymentState.HANDED_OVER}",
                    campaign=row["campaign__name"],
                    place=row["village__name"],
                    amount=money(row["total"]),
                )
            )
    if user.has_perm(payments.BOOK):
        unbooked = (
            Payment.objects.restrict(user, perm=payments.BOOK)
            .filter(state=PaymentState.SIGNED, booked_at=None, campaign__status__in=PAYING)
            .values("campaign_id", "campaign__name")
            .annotate(n=Count("pk"), total=Sum("amount"))
            .order_by("-campaign_id")
        )
        for row in unbooked:
            items.append(
                WorkItem(
                    "to_book",
                    _("Signed records to book"),
                    row["n"],
                    reverse("disbursements:finance", args=[row["campaign_id"]]),
                    campaign=row["campaign__name"],
                    amount=money(row["total"]),
                )
            )
    return items


def _jobs(user: User) -> list[WorkItem]:
    recent = timezone.now() - RECENT_FAILURES
    jobs = Job.objects.of(user).filter(
        Q(status__in=(JobStatus.QUEUED, JobStatus.RUNNING))
        | Q(status=JobStatus.FAILED, finished_at__gte=recent)
    )[:LISTED]
    return [
        WorkItem(
            "job_failed" if job.status == JobStatus.FAILED else "job",
            _("Background job failed") if job.status == JobStatus.FAILED else _("Background job"),
            1,
            reverse("job_detail", args=[job.pk]),
            place=job.title,
        )
        for job in jobs
    ]


# -- due ------------------------------------------------------------------------------------


def when(days: int) -> str:
    if days == 0:
        return _("today")
    if days > 0:
        return ngettext("in %(days)d day", "in %(days)d days", days) % {"days": days}
    return ngettext("%(days)d day ago", "%(days)d days ago", -days) % {"days": -days}


def _outstanding(user: User, campaigns: list[Campaign]) -> dict[int, Counter]:
    """Per campaign, what is still missing for each checkable deliverable in the
    user's areas: two grouped queries. A deliverable the user may not read the
    records of is left out (the overview cannot tell)."""
    missing: dict[int, Counter] = defaultdict(Counter)
    ids = [c.pk for c in campaigns]
    if user.has_perm(VIEW_APPLICATION):
        planned = Exists(Payment.objects.filter(application=OuterRef("pk")))
        rows = (
            Application.objects.restrict(user)
            .filter(campaign__in=ids)
            .annotate(planned=planned)
            .values("campaign_id", "state", "returned_to")
            .annotate(n=Count("pk"), unplanned=Count("pk", filter=Q(planned=False)))
            .order_by()
        )
        for row in rows:
            stage = row["returned_to"] if row["state"] == State.RETURNED else row["state"]
            found = missing[row["campaign_id"]]
            for deliverable, stages in BEHIND_DEADLINE.items():
                found[deliverable] += row["n"] if stage in stages else 0
            if row["state"] == State.APPROVED:
                found[Deliverable.DISBURSEMENT] += row["unplanned"]
    if user.has_perm(payments.VIEW):
        rows = (
            Payment.objects.restrict(user, perm=payments.VIEW)
            .filter(campaign__in=ids, kind=Kind.PAYMENT)
            .values("campaign_id", "state")
            .annotate(n=Count("pk"), first=Count("pk", filter=Q(instalment=1)))
            .order_by()
        )
        for row in rows:
            found = missing[row["campaign_id"]]
            if row["state"] == PaymentState.PLANNED:
                # Later instalments fall due on their own planned dates.
                found[Deliverable.DISBURSEMENT] += row["first"]
            elif row["state"] == PaymentState.HANDED_OVER:
                found[Deliverable.SIGNED_SHEETS] += row["n"]
    return missing


def _readable(user: User, deliverable: str) -> bool:
    if deliverable in BEHIND_DEADLINE:
        return user.has_perm(VIEW_APPLICATION)
    if deliverable in PAYMENT_DELIVERABLES:
        return user.has_perm(payments.VIEW)
    return False


def _deadline_url(user: User, campaign: Campaign, deadline: Deadline) -> str:
    if deadline.deliverable in QUEUE_STATE and user.has_perm(VIEW_APPLICATION):
        return _queue(campaign.pk, f"state={QUEUE_STATE[deadline.deliverable]}")
    if deadline.deliverable in PAYMENT_DELIVERABLES and user.has_perm(payments.VIEW):
        return reverse("disbursements:campaign", args=[campaign.pk])
    return reverse("campaigns:campaign_detail", args=[campaign.pk])


def _deadlines(user: User, campaigns: list[Campaign], today: datetime.date) -> list[DueItem]:
    missing = _outstanding(user, campaigns)
    horizon = today + datetime.timedelta(days=DUE_DAYS)
    items = []
    for campaign in campaigns:
        deadlines = list(campaign.deadlines.all())
        # The deadlines of the user's own level and the levels below (the queue's rule).
        passed, coming = due_next(
            campaign,
            working_areas(user, campaign),
            today,
            limit=len(deadlines),
            deadlines=deadlines,
        )
        for deadline in [*passed, *coming]:
            days = (deadline.due_on - today).days
            known = _readable(user, deadline.deliverable)
            left = missing[campaign.pk][deadline.deliverable] if known else None
            if deadline.due_on > horizon:
                continue
            overdue = days < 0 and bool(left)
            # A passed deadline stays only while unmet, or, when the records
            # cannot tell, for as long as an upcoming one would be listed.
            if days < 0 and not overdue and (known or -days > DUE_DAYS):
                continue
            items.append(
                DueItem(
                    on=deadline.due_on,
                    title=str(deadline),
                    campaign=campaign.name,
                    url=_deadline_url(user, campaign, deadline),
                    days=days,
                    when=when(days),
                    overdue=overdue,
                    outstanding=left,
                    hard=deadline.hard,
                )
            )
    return items


def _notices(user: User, today: datetime.date) -> list[DueItem]:
    if not user.has_perm(VIEW_NOTICE):
        return []
    notices = (
        Notice.objects.restrict(user)
        .filter(
            campaign__status=CampaignStatus.OPEN,
            ends_on__gte=today,
            ends_on__lte=today + datetime.timedelta(days=DUE_DAYS),
        )
        .select_related("campaign", "area")
    )
    return [
        DueItem(
            on=notice.ends_on,
            title=_("Public notice of %(area)s ends") % {"area": notice.area.name},
            campaign=notice.campaign.name,
            url=reverse("applications:notice_detail", args=[notice.pk]),
            days=(notice.ends_on - today).days,
            when=when((notice.ends_on - today).days),
            notice=True,
        )
        for notice in notices
    ]


# -- changed since my last visit ------------------------------------------------------------

ACTIONS = {
    "appraisal.record": gettext_lazy("Village appraisal recorded"),
    "notice.publish": gettext_lazy("Public notice published"),
    "household.disqualify": gettext_lazy("Household disqualified"),
    "household.recusal": gettext_lazy("Recusal recorded"),
    "payment.proxy_requested": gettext_lazy("Proxy collection requested"),
    "payment.proxy_decided": gettext_lazy("Proxy collection decided"),
    "payment.scan": gettext_lazy("Signed sheet scanned"),
    "payment.village_closed": gettext_lazy("Village closed"),
    "ledger.verified": gettext_lazy("Ledger verified"),
    "campaign.create": gettext_lazy("Campaign created"),
    "campaign.status": gettext_lazy("Campaign status changed"),
    "campaign.copy": gettext_lazy("Campaign copied"),
    "roster.upload": gettext_lazy("Roster uploaded"),
    "roster.check": gettext_lazy("Roster checked"),
    "roster.mapping": gettext_lazy("Roster columns chosen"),
    "roster.import": gettext_lazy("Roster imported"),
    "campaign_kind.limit": gettext_lazy("Yearly limit of a campaign kind set"),
    "evidence_field.create": gettext_lazy("Evidence field added"),
    "user.create": gettext_lazy("Account created"),
    "user.update": gettext_lazy("Account changed"),
    "user.set_password": gettext_lazy("Password set"),
    "role.grant": gettext_lazy("Role granted"),
    "role.revoke": gettext_lazy("Role revoked"),
    "area.create": gettext_lazy("Area created"),
    "area.rename": gettext_lazy("Area renamed"),
    "area.import": gettext_lazy("Code table imported"),
}
# Audit events of signing in and out (relief.auth): not changes to list.
SIGN_IN_EVENTS = ("user.login", "user.logout", "user.login_failed")
# The set-up screens record their own kinds (campaign.update, campaign.category…).
CAMPAIGN_SETUP = gettext_lazy("Campaign set-up changed")


def action_label(action: str) -> str:
    """An audit event's action in words, in the user's language."""
    from applications.templatetags.application_tags import event_label

    kind, _sep, what = action.partition(".")
    if kind == "application":
        label = event_label(action)
    elif kind == "payment" and what in Action.values:
        label = Action(what).label
    else:
        label = ACTIONS.get(action) or (CAMPAIGN_SETUP if kind == "campaign" else action)
    return capfirst(str(label))


def _watched_events(user: User) -> QuerySet[AuditEvent] | None:
    """The events of the records the user may see, in the areas where they may
    see them; auditors (view_auditevent) every event of their areas."""
    if user.has_perm(VIEW_AUDIT):
        return AuditEvent.objects.restrict(user, perm=VIEW_AUDIT)
    types = ContentType.objects.get_for_models(*(model for model, _url in WATCHED))
    found = None
    for model, _url in WATCHED:
        perm = perm_name(model, "view")
        if user.has_perm(perm):
            events = AuditEvent.objects.restrict(user, perm=perm).filter(target_type=types[model])
            found = events if found is None else found | events
    return found


def _changes(user: User, since: datetime.datetime, result: Overview) -> None:
    events = _watched_events(user)
    if events is None:
        return
    # Sign-ins and sign-outs are audited (relief.auth) but change no record.
    events = events.filter(at__gt=since).exclude(actor=user).exclude(action__in=SIGN_IN_EVENTS)
    counts = Counter(
        {
            row["action"]: row["n"]
            for row in events.values("action").annotate(n=Count("pk")).order_by()
        }
    )
    labelled: Counter = Counter()
    for action, n in counts.items():
        labelled[action_label(action)] += n
    result.change_counts = sorted(labelled.items(), key=lambda item: (-item[1], item[0]))
    result.changes_total = sum(counts.values())
    types = ContentType.objects.get_for_models(*(model for model, _url in WATCHED))
    links = {
        types[model].pk: url
        for model, url in WATCHED
        if url and user.has_perm(perm_name(model, "view"))
    }
    result.changes = [
        Change(
            at=event.at,
            actor=(event.actor.name or event.actor.username) if event.actor else "",
            action=action_label(event.action),
            record=event.target_repr,
            area=event.area.name if event.area else "",
            url=reverse(links[event.target_type_id], args=[event.target_id])
            if event.target_type_id in links and event.target_id.isdecimal()
            else "",
        )
        for event in events.select_related("actor", "area").order_by("-at", "-pk")[:CHANGES_LISTED]
    ]
