"""A campaign and what it is configured with (domain.md §2–3).

Everything here is data a user sets up per campaign: phases, deadlines, fund
sources and their payer shares, categories with their standards. The arithmetic
lives in `campaigns.calculation`; `Category.rule()` hands it these rows as a
pure rule.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns import calculation as calc
from campaigns.choices import (
    ApprovalLevel,
    CampaignStatus,
    Deliverable,
    FieldType,
    NoticeLevel,
    RoundingStep,
    StackingPolicy,
    StandardKind,
    Unit,
)
from campaigns.conditions import OUTCOME_FIELDS, Condition, FieldSpec, Rule
from relief.choices import AreaLevel
from relief.scoping import ScopedQuerySet

MONEY = {"max_digits": 14, "decimal_places": 2}
POSITIVE = [MinValueValidator(Decimal(0))]


class CampaignKind(models.Model):
    """春节慰问, 送温暖, 困难职工帮扶, 助学, 医疗救助… Users add their own."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    order = models.PositiveIntegerField(_("order"), default=100)
    # "at most one 春节慰问 per household per year": counted across every
    # campaign of this kind in the same year, whoever issued it.
    per_year = models.PositiveSmallIntegerField(
        _("aids per household per year"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Leave empty for no limit."),
    )

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("campaign kind")
        verbose_name_plural = _("campaign kinds")

    def __str__(self) -> str:
        return self.name


class EvidenceField(models.Model):
    """A fact about a household a standard or condition may use.

    A catalogue shared by all areas, extended by administrators. Some keys are
    filled from the household register when an application is made (see
    campaigns.evidence.DERIVED); the rest are entered with the evidence.
    """

    key = models.SlugField(_("key"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=40, unique=True)
    type = models.CharField(_("type"), max_length=10, choices=FieldType, default=FieldType.MONEY)
    options = models.TextField(
        _("options"), blank=True, help_text=_("For a field that is one of a list: one per line.")
    )
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    help_text = models.CharField(_("help"), max_length=200, blank=True)
    order = models.PositiveIntegerField(_("order"), default=100)

    class Meta:
        ordering = ["order", "key"]
        verbose_name = _("evidence field")
        verbose_name_plural = _("evidence fields")

    def __str__(self) -> str:
        return self.name

    def spec(self) -> FieldSpec:
        options = tuple(o.strip() for o in self.options.splitlines() if o.strip())
        return FieldSpec(self.key, self.name, self.type, options)

    @classmethod
    def catalogue(cls) -> dict[str, FieldSpec]:
        return {f.key: f.spec() for f in cls.objects.all()}


class Campaign(models.Model):
    """One relief action by one issuer, e.g. 2026年春节送温暖慰问 of a township."""

    name = models.CharField(_("name"), max_length=100)
    issuer = models.CharField(_("issuing body"), max_length=100)
    area = models.ForeignKey(
        "relief.Area",
        on_delete=models.PROTECT,
        related_name="campaigns",
        verbose_name=_("area"),
        help_text=_("The campaign covers this area and every area below it."),
    )
    year = models.PositiveIntegerField(
        _("year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    kind = models.ForeignKey(
        CampaignKind, on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("kind")
    )
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=CampaignStatus, default=CampaignStatus.DRAFT
    )
    published_on = models.DateField(
        _("published on"),
        null=True,
        blank=True,
        help_text=_('The date of the notice (发文日期); phases "from publication" start here.'),
    )
    stacking = models.CharField(
        _("stacking policy"),
        max_length=20,
        choices=StackingPolicy,
        default=StackingPolicy.EXCLUSIVE,
    )
    top_up = models.DecimalField(
        _("top-up"),
        **MONEY,
        default=Decimal(0),
        validators=POSITIVE,
        help_text=_("Added to the highest amount under the highest-plus-top-up policy."),
    )
    poverty_line = models.DecimalField(
        _("local 低保 line"),
        **MONEY,
        null=True,
        blank=True,
        validators=POSITIVE,
        help_text=_("Yuan per person per month; conditions may use multiples of it."),
    )
    notice_days = models.PositiveSmallIntegerField(
        _("public notice days"), default=7, validators=[MinValueValidator(1)]
    )
    notice_level = models.CharField(
        _("public notice posted by"),
        max_length=10,
        choices=NoticeLevel,
        default=NoticeLevel.TOWNSHIP,
    )
    second_review = models.BooleanField(
        _("second review by the township leadership"),
        default=False,
        help_text=_("乡镇复审: a supervisor reviews after the office's first review."),
    )
    copied_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="copies",
        verbose_name=_("copied from"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope_path = "area"
    # A campaign of a township is seen by its villages' clerks too: viewing
    # reaches from an area down to the users below it (see relief.scoping).
    scope_covers_below = True

    class Meta:
        ordering = ["-year", "name"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name

    def load_setup(self) -> tuple[list[Category], list[FundSource]]:
        """The categories and fund sources, read once with everything the
        campaign page, the set-up checks and the budget table use."""
        categories = list(
            self.categories.select_related("fund_source", "base_field").prefetch_related(
                "tiers",
                "stacks_with",
                models.Prefetch("area_quotas", queryset=AreaQuota.objects.select_related("area")),
            )
        )
        return categories, list(self.fund_sources.prefetch_related("shares"))

    def stacking_pairs(self) -> frozenset[frozenset[str]]:
        """The pairs of category names that add up under the "pairs" policy."""
        through = Category.stacks_with.through.objects.filter(from_category__campaign=self)
        return frozenset(
            frozenset(pair)
            for pair in through.values_list("from_category__name", "to_category__name")
        )

    @property
    def editable(self) -> bool:
        """Set-up changes are allowed until the campaign is closed."""
        return self.status in (CampaignStatus.DRAFT, CampaignStatus.OPEN)


class Phase(models.Model):
    """A named stretch of the campaign. Dates may overlap, be open-ended
    (no end), start at publication (no start) or be not yet fixed (另行通知)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="phases")
    name = models.CharField(_("name"), max_length=50)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    to_be_announced = models.BooleanField(_("dates to be announced"), default=False)
    order = models.PositiveIntegerField(_("order"), default=0)

    scope_path = "campaign__area"

    class Meta:
        ordering = ["order", "starts_on", "id"]
        verbose_name = _("phase")
        verbose_name_plural = _("phases")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts_on__isnull=True)
                | models.Q(ends_on__isnull=True)
                | models.Q(starts_on__lte=models.F("ends_on")),
                name="phase_starts_before_it_ends",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def start(self) -> datetime.date | None:
        return self.starts_on or (None if self.to_be_announced else self.campaign.published_on)

    def is_current(self, today: datetime.date) -> bool:
        start = self.start()
        if self.to_be_announced or start is None:
            return False
        return start <= today and (self.ends_on is None or today <= self.ends_on)


class Deadline(models.Model):
    """A deliverable due from every area of one level by a date (村级名单 1月17日).

    A hard deadline refuses late submissions with the reason shown; a soft one
    accepts them and flags them late."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deadlines")
    deliverable = models.CharField(_("deliverable"), max_length=20, choices=Deliverable)
    title = models.CharField(_("title"), max_length=100, blank=True)
    level = models.CharField(
        _("due from"), max_length=10, choices=AreaLevel, default=AreaLevel.VILLAGE
    )
    due_on = models.DateField(_("due on"))
    hard = models.BooleanField(
        _("hard deadline"), default=False, help_text=_("Refuse late submissions (逾期不接收).")
    )

    scope_path = "campaign__area"

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")

    def __str__(self) -> str:
        return self.title or str(self.get_deliverable_display())


class FundSource(models.Model):
    """资金来源: a budget from one body, paid by one or several levels."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="fund_sources")
    name = models.CharField(_("name"), max_length=100)
    payer = models.CharField(
        _("paying body"),
        max_length=100,
        help_text=_("Who pays when the source is not split between levels."),
    )
    budget = models.DecimalField(_("budget"), **MONEY, validators=POSITIVE)
    order = models.PositiveIntegerField(_("order"), default=0)

    scope_path = "campaign__area"

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("fund source")
        verbose_name_plural = _("fund sources")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="fund_source_name_unique")
        ]

    def __str__(self) -> str:
        return self.name

    def payer_shares(self) -> tuple[calc.Share, ...]:
        shares = tuple(calc.Share(s.payer, s.percent) for s in self.shares.all())
        return shares or (calc.Share(self.payer, Decimal(100)),)


class FundShare(models.Model):
    """One paying level's percentage of a fund source (区、镇各半: 50 and 50)."""

    fund_source = models.ForeignKey(FundSource, on_delete=models.CASCADE, related_name="shares")
    payer = models.CharField(_("payer"), max_length=100)
    percent = models.DecimalField(
        _("percent"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal(100))],
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("payer share")
        verbose_name_plural = _("payer shares")

    def __str__(self) -> str:
        return f"{self.payer} {self.percent}%"


class Category(models.Model):
    """对象类别: who qualifies in a campaign and the standard they are paid by."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="categories")
    name = models.CharField(_("name"), max_length=100)
    section = models.CharField(
        _("section"),
        max_length=50,
        blank=True,
        help_text=_("Groups categories with a subtotal in the budget table (面上慰问, 点上慰问)."),
    )
    order = models.PositiveIntegerField(_("order"), default=0)
    kind = models.CharField(
        _("standard"), max_length=12, choices=StandardKind, default=StandardKind.FIXED
    )
    unit = models.CharField(_("unit"), max_length=10, choices=Unit, default=Unit.HOUSEHOLD)
    # Fixed: cash and goods valued in cash.
    cash = models.DecimalField(_("cash"), **MONEY, default=Decimal(0), validators=POSITIVE)
    goods = models.DecimalField(
        _("goods (cash value)"), **MONEY, default=Decimal(0), validators=POSITIVE
    )
    # Range.
    range_min = models.DecimalField(
        _("minimum"), **MONEY, null=True, blank=True, validators=POSITIVE
    )
    range_max = models.DecimalField(
        _("maximum"),
        **MONEY,
        null=True,
        blank=True,
        validators=POSITIVE,
        help_text=_("Empty for no upper bound."),
    )
    range_soft = models.BooleanField(
        _("soft range"),
        default=False,
        help_text=_("原则上: an amount outside needs a written reason and a higher approval."),
    )
    range_outside_level = models.CharField(
        _("approval outside the range"),
        max_length=10,
        choices=ApprovalLevel,
        default=ApprovalLevel.COUNTY,
    )
    # Instalments.
    annual = models.DecimalField(
        _("annual amount"), **MONEY, null=True, blank=True, validators=POSITIVE
    )
    instalments = models.PositiveSmallIntegerField(
        _("instalments"), default=4, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    # Percentage of a base.
    base_field = models.ForeignKey(
        EvidenceField,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("base"),
    )
    rate = models.DecimalField(
        _("rate (%)"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1000))],
    )
    rounding = models.CharField(
        _("rounding"), max_length=4, choices=RoundingStep, default=RoundingStep.CENT
    )
    cap = models.DecimalField(_("cap"), **MONEY, null=True, blank=True, validators=POSITIVE)
    floor = models.DecimalField(_("floor"), **MONEY, null=True, blank=True, validators=POSITIVE)
    not_above_base = models.BooleanField(_("never above the base"), default=False)
    threshold = models.JSONField(
        _("qualifying threshold"), null=True, blank=True, help_text=_("One condition.")
    )
    # Any standard.
    eligibility = models.JSONField(_("eligibility"), default=list, blank=True)
    escalations = models.JSONField(_("approval escalation"), default=list, blank=True)
    planned_count = models.PositiveIntegerField(
        _("planned count"),
        null=True,
        blank=True,
        help_text=_("Households or persons budgeted for."),
    )
    quota = models.PositiveIntegerField(
        _("quota"), null=True, blank=True, help_text=_("At most this many in the campaign.")
    )
    fund_source = models.ForeignKey(
        FundSource,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="categories",
        verbose_name=_("fund source"),
    )
    stacks_with = models.ManyToManyField(
        "self", blank=True, verbose_name=_("adds up with"), symmetrical=True
    )

    scope_path = "campaign__area"

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="category_name_unique")
        ]

    def __str__(self) -> str:
        return self.name

    def rule(self, fields: dict[str, FieldSpec] | None = None) -> calc.CategoryRule:
        """This category as the calculation's pure rule."""
        fields = EvidenceField.catalogue() if fields is None else fields
        return calc.CategoryRule(
            name=self.name,
            standard=self.standard(fields),
            eligibility=rule_from_json(self.eligibility, fields),
            escalations=tuple(
                calc.Escalation(Condition.from_json(c, {**fields, **OUTCOME_FIELDS}), level)
                for c, level in self.escalations
            ),
            shares=self.fund_source.payer_shares() if self.fund_source else (),
            fields=fields,
            line=self.campaign.poverty_line,
        )

    def standard(self, fields: dict[str, FieldSpec]) -> calc.Standard:
        zero = Decimal(0)
        if self.kind == StandardKind.RANGE:
            return calc.Range(
                self.range_min or zero,
                self.range_max,
                soft=self.range_soft,
                outside_level=self.range_outside_level,
                unit=self.unit,
            )
        if self.kind == StandardKind.INSTALMENTS:
            return calc.Instalments(self.annual or zero, self.instalments)
        if self.kind == StandardKind.PERCENTAGE:
            return calc.Percentage(
                base_field=self.base_field.key if self.base_field else "",
                rate=self.rate or zero,
                step=Decimal(self.rounding),
                cap=self.cap,
                floor=self.floor,
                not_above_base=self.not_above_base,
                threshold=Condition.from_json(self.threshold, fields) if self.threshold else None,
            )
        if self.kind == StandardKind.TIERED:
            return calc.Tiered(
                tuple(
                    calc.Tier(t.name, t.cash, t.goods, rule_from_json(t.conditions, fields))
                    for t in self.tiers.all()
                ),
                unit=self.unit,
            )
        return calc.Fixed(self.cash, self.goods, self.unit)


class Tier(models.Model):
    """A tier of a tiered standard; the first tier whose conditions hold applies."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="tiers")
    name = models.CharField(_("name"), max_length=50)
    cash = models.DecimalField(_("cash"), **MONEY, default=Decimal(0), validators=POSITIVE)
    goods = models.DecimalField(
        _("goods (cash value)"), **MONEY, default=Decimal(0), validators=POSITIVE
    )
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")

    def __str__(self) -> str:
        return self.name


class AreaQuota(models.Model):
    """A category's allocation to one area (分配表, 每镇各1人)."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="area_quotas")
    area = models.ForeignKey("relief.Area", on_delete=models.PROTECT, related_name="+")
    count = models.PositiveIntegerField(_("count"))

    class Meta:
        ordering = ["area__code"]
        verbose_name = _("area quota")
        verbose_name_plural = _("area quotas")
        constraints = [
            models.UniqueConstraint(fields=["category", "area"], name="area_quota_unique")
        ]

    def __str__(self) -> str:
        return f"{self.area} {self.count}"


def rule_from_json(data: list, fields: dict[str, FieldSpec]) -> Rule:
    return tuple(tuple(Condition.from_json(c, fields) for c in group) for group in data)


def rule_to_json(rule: Rule) -> list:
    return [[c.to_json() for c in group] for group in rule]


def today() -> datetime.date:
    return timezone.localdate()
