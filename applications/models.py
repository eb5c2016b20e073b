"""An application (申请) and the records of the decisions on it (domain.md §4).

The workflow (applications.workflow) is the only writer of `state`; these
models hold what was decided, by whom, and the meetings, notices, objections
and attachments the decisions rest on.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from applications.choices import ACTIVE, Channel, Degree, HardshipCause, ObjectionStatus, State
from campaigns.choices import ApprovalLevel
from relief.choices import AreaLevel
from relief.scoping import ScopedQuerySet

MONEY = {"max_digits": 14, "decimal_places": 2}


class ApplicationQuerySet(ScopedQuerySet):
    def at_stage(self, *stages: str) -> ApplicationQuerySet:
        """Applications waiting at these stages, returned ones included."""
        return self.filter(
            models.Q(state__in=stages) | models.Q(state=State.RETURNED, returned_to__in=stages)
        )

    def with_head(self) -> ApplicationQuerySet:
        """`head` joins the head of household (one per household, a
        constraint), so lists and documents read the name and ID number in the
        same query: values_list("head__name", "head__id_number")."""
        from recipients.choices import Relation

        return self.annotate(
            head=models.FilteredRelation(
                "household__members",
                condition=models.Q(household__members__relation=Relation.HEAD),
            )
        )


class Application(models.Model):
    """One household's application in one campaign (one per campaign while it
    is active). `category` is the category sought; `also` the others the
    household falls under, which count as far as the stacking policy allows."""

    number = models.CharField(_("number"), max_length=24, unique=True, editable=False)
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name=_("campaign"),
        # application_queue and application_figures begin with the campaign:
        # a third index of it alone would only slow every write.
        db_index=False,
    )
    household = models.ForeignKey(
        "recipients.Household",
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name=_("household"),
    )
    # The household's village when the application was entered: the area the
    # application belongs to, kept here so queues filter without a join.
    village = models.ForeignKey(
        "relief.Area",
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": AreaLevel.VILLAGE},
        verbose_name=_("village"),
    )
    category = models.ForeignKey(
        "campaigns.Category",
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name=_("category"),
    )
    also = models.ManyToManyField(
        "campaigns.Category",
        blank=True,
        related_name="+",
        verbose_name=_("also falls under"),
    )
    # The money comes from the category's fund source: kept on the row so the
    # budget check sums one indexed column (PROTECT: money is never orphaned).
    fund_source = models.ForeignKey(
        "campaigns.FundSource",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
        # application_fund_state begins with it.
        db_index=False,
        verbose_name=_("fund source"),
    )
    state = models.CharField(_("state"), max_length=20, choices=State, default=State.DRAFT)
    returned_to = models.CharField(
        _("returned to"), max_length=20, choices=State, blank=True, default=""
    )
    cause = models.CharField(_("cause of hardship"), max_length=20, choices=HardshipCause)
    cause_detail = models.CharField(_("cause in detail"), max_length=200, blank=True)
    degree = models.CharField(
        _("degree of hardship"), max_length=10, choices=Degree, default=Degree.GENERAL
    )
    facts = models.JSONField(_("evidence"), default=dict, blank=True)
    proposed = models.DecimalField(_("amount proposed"), **MONEY, null=True, blank=True)
    amount_reason = models.TextField(_("reason for the amount"), blank=True)
    # What the campaign's rules make of the evidence, stored when it changes.
    amount = models.DecimalField(_("amount"), **MONEY, null=True, blank=True)
    cash = models.DecimalField(_("cash"), **MONEY, default=Decimal(0))
    goods = models.DecimalField(_("goods"), **MONEY, default=Decimal(0))
    tier = models.CharField(_("tier"), max_length=50, blank=True)
    explanation = models.TextField(_("calculation"), blank=True)
    approval_level = models.CharField(
        _("approved by"), max_length=10, choices=ApprovalLevel, default=ApprovalLevel.TOWNSHIP
    )
    needs_reason = models.BooleanField(_("outside the standard"), default=False)
    problem = models.TextField(_("problem"), blank=True)  # why it cannot be submitted
    flags = models.JSONField(_("flags"), default=list, blank=True)
    late = models.BooleanField(_("submitted late"), default=False)
    notice = models.ForeignKey(
        "Notice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
        verbose_name=_("public notice"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    objects = ApplicationQuerySet.as_manager()
    scope_path = "village"

    class Meta:
        ordering = ["campaign", "number"]
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        permissions = [
            ("appraise_application", _("Record the village appraisal")),
            ("review_application", _("First review (township office)")),
            ("second_review_application", _("Second review (township leadership)")),
            ("approve_application", _("Approve at township level")),
            ("county_approve_application", _("Approve at county level")),
        ]
        constraints = [
            # One household, one application per campaign while it is active:
            # the database refuses a second one even from two clerks at once.
            models.UniqueConstraint(
                fields=["campaign", "household"],
                condition=models.Q(state__in=sorted(ACTIVE)),
                name="one_active_application_per_household",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "state", "village"], name="application_queue"),
            models.Index(fields=["fund_source", "state"], name="application_fund_state"),
            # Every column the dashboard and the reconciliation add up, so they
            # read this index alone, not 50,000 wide rows (reports.figures),
            # and the id the reconciliation looks each application's payments
            # up by (SQLite keeps the rowid in every index; PostgreSQL would
            # otherwise fetch every approved row from the table for it).
            models.Index(
                fields=[
                    "campaign",
                    "village",
                    "state",
                    "category",
                    "fund_source",
                    "late",
                    "amount",
                    "cash",
                    "goods",
                    "id",
                ],
                name="application_figures",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def stage(self) -> str:
        """The stage it waits at: for a returned one, the stage it went back to."""
        return self.returned_to if self.state == State.RETURNED else self.state

    @property
    def editable(self) -> bool:
        return self.stage == State.DRAFT and self.state in (State.DRAFT, State.RETURNED)


class AppraisalMeeting(models.Model):
    """A village appraisal meeting (民主评议会) deciding on a batch of applications."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="appraisal_meetings"
    )
    village = models.ForeignKey(
        "relief.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("village")
    )
    held_on = models.DateField(_("held on"))
    members = models.TextField(
        _("members present"), help_text=_("Names and roles, one per line or separated by 、.")
    )
    minutes = models.TextField(_("minutes"), blank=True)
    minutes_scan = models.FileField(_("scan of the minutes"), upload_to="appraisals/", blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope_path = "village"

    class Meta:
        ordering = ["-held_on", "-id"]
        verbose_name = _("appraisal meeting")
        verbose_name_plural = _("appraisal meetings")

    def __str__(self) -> str:
        return f"{self.village} {self.held_on:%Y-%m-%d}"


class AppraisalVote(models.Model):
    """The meeting's outcome on one application."""

    meeting = models.ForeignKey(AppraisalMeeting, on_delete=models.PROTECT, related_name="votes")
    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="appraisals"
    )
    votes_for = models.PositiveSmallIntegerField(_("for"), null=True, blank=True)
    votes_against = models.PositiveSmallIntegerField(_("against"), null=True, blank=True)
    abstentions = models.PositiveSmallIntegerField(_("abstentions"), null=True, blank=True)
    passed = models.BooleanField(_("passed"))
    remark = models.CharField(_("remark"), max_length=200, blank=True)

    class Meta:
        ordering = ["meeting", "application"]
        verbose_name = _("appraisal outcome")
        verbose_name_plural = _("appraisal outcomes")

    def __str__(self) -> str:
        return f"{self.application_id}: {self.passed}"


class Notice(models.Model):
    """A public notice (公示) of a campaign's applications in one area."""

    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.PROTECT,
        related_name="notices",
        verbose_name=_("campaign"),
    )
    area = models.ForeignKey(
        "relief.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("area")
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    contact = models.CharField(
        _("contact for objections"),
        max_length=200,
        help_text=_("Who takes objections and how: office, person, telephone."),
    )
    place = models.CharField(
        _("posted at"), max_length=200, blank=True, help_text=_("e.g. 便民服务大厅、政府网站")
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(_("published"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope_path = "area"
    # A township's notice lists its villages' applications: their clerks read it.
    scope_covers_below = True

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("public notice")
        verbose_name_plural = _("public notices")

    def __str__(self) -> str:
        return f"{self.area} {self.starts_on:%m-%d}–{self.ends_on:%m-%d}"

    def running(self, on: datetime.date) -> bool:
        return self.starts_on <= on <= self.ends_on


class Objection(models.Model):
    """An objection (异议, 举报) raised against an application during its notice."""

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="objections"
    )
    received_on = models.DateField(_("received on"))
    channel = models.CharField(_("received by"), max_length=10, choices=Channel)
    objector = models.CharField(
        _("raised by"), max_length=100, blank=True, help_text=_("Leave empty if anonymous.")
    )
    content = models.TextField(_("objection"))
    status = models.CharField(
        _("status"), max_length=10, choices=ObjectionStatus, default=ObjectionStatus.OPEN
    )
    finding = models.TextField(_("finding"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_path = "application__village"

    class Meta:
        ordering = ["received_on", "id"]
        verbose_name = _("objection")
        verbose_name_plural = _("objections")

    def __str__(self) -> str:
        return f"{self.application} {self.received_on:%Y-%m-%d}"


class Attachment(models.Model):
    """A scan or photo kept with an application (evidence, or a decision's papers)."""

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to="applications/%Y/%m/")
    name = models.CharField(_("name"), max_length=200)
    size = models.PositiveIntegerField(_("size"))
    content_type = models.CharField(max_length=100)
    description = models.CharField(_("description"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope_path = "application__village"

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name


class Recusal(models.Model):
    """A user marked as related to a household (回避): they may not review it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="recusals",
        verbose_name=_("user"),
    )
    household = models.ForeignKey(
        "recipients.Household",
        on_delete=models.CASCADE,
        related_name="recusals",
        verbose_name=_("household"),
    )
    relation = models.CharField(_("relation"), max_length=100)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope_path = "household__village"

    class Meta:
        verbose_name = _("recusal")
        verbose_name_plural = _("recusals")
        constraints = [
            models.UniqueConstraint(fields=["user", "household"], name="one_recusal_per_pair")
        ]

    def __str__(self) -> str:
        return f"{self.user} ~ {self.household} ({self.relation})"


class Disqualification(models.Model):
    """取消补助资格: a household barred from aid until a date, for a false claim
    or unauthorised widening of scope. Checked by every later campaign."""

    household = models.ForeignKey(
        "recipients.Household",
        on_delete=models.PROTECT,
        related_name="disqualifications",
        verbose_name=_("household"),
    )
    until = models.DateField(_("barred until"))
    reason = models.TextField(_("reason"))
    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope_path = "household__village"

    class Meta:
        ordering = ["-until"]
        verbose_name = _("disqualification")
        verbose_name_plural = _("disqualifications")

    def __str__(self) -> str:
        return f"{self.household} → {self.until:%Y-%m-%d}"


# The roster import's records live beside its code; Django finds models here.
from applications.roster.models import ColumnMapping, RosterImport  # noqa: E402, F401
