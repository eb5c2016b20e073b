"""Changes to campaigns. Views and commands call these; nothing else writes
campaigns or their set-up.

Each function checks the actor's right in the campaign's area and the
campaign's state, locks the campaign row for the length of the transaction
(two administrators editing at once queue instead of interleaving), and writes
an audit event.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from campaigns import checks
from campaigns.choices import CampaignStatus
from campaigns.models import (
    AreaQuota,
    Campaign,
    CampaignKind,
    Category,
    Deadline,
    FundShare,
    FundSource,
    Phase,
    Tier,
)
from relief import audit
from relief.areacodes import LEVELS_TOP_DOWN
from relief.models import Area, User
from relief.scoping import allows


class CampaignError(Exception):
    """A refusal to show the user, in their language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# draft → open → closed → archived; a closed campaign may be reopened.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    CampaignStatus.DRAFT: (CampaignStatus.OPEN, CampaignStatus.ARCHIVED),
    CampaignStatus.OPEN: (CampaignStatus.CLOSED,),
    CampaignStatus.CLOSED: (CampaignStatus.OPEN, CampaignStatus.ARCHIVED),
    CampaignStatus.ARCHIVED: (),
}


def _check_area(actor: User, perm: str, area: Area) -> None:
    if not allows(actor, perm, area):
        raise CampaignError(_("You may not set up campaigns in %(area)s.") % {"area": area.name})


def set_kind_limit(actor: User, kind: CampaignKind, per_year: int | None) -> None:
    """How many aids of this kind a household may receive per year, across
    every campaign of the kind (None: no limit). Checked on each application."""
    if not actor.has_perm("campaigns.change_campaignkind"):
        raise CampaignError(_("You may not change campaign kinds."))
    if per_year is not None and per_year < 1:
        raise CampaignError(_("The limit is at least 1; leave it empty for no limit."))
    with transaction.atomic():
        locked = CampaignKind.objects.select_for_update().get(pk=kind.pk)
        before = locked.per_year
        locked.per_year = per_year
        locked.save(update_fields=["per_year"])
        audit.record(
            actor,
            "campaign_kind.limit",
            locked,
            from_state=str(before or ""),
            to_state=str(per_year or ""),
        )


def add_evidence_field(actor: User, form: Any) -> Any:
    """Add a field to the shared evidence catalogue (a validated EvidenceFieldForm)."""
    with transaction.atomic():
        field = form.save()
        audit.record(actor, "evidence_field.create", field, key=field.key)
    return field


def kind_named(name: str) -> CampaignKind:
    """The campaign kind of this name, added to the list if it is new."""
    name = name.strip()
    if not name:
        raise CampaignError(_("Name the campaign's kind."))
    kind, _created = CampaignKind.objects.get_or_create(name=name)
    return kind


def create_campaign(
    actor: User, *, area: Area, kind: CampaignKind | str, **fields: Any
) -> Campaign:
    _check_area(actor, "campaigns.add_campaign", area)
    with transaction.atomic():
        if isinstance(kind, str):
            kind = kind_named(kind)
        campaign = Campaign(area=area, kind=kind, **fields)
        campaign.full_clean()
        campaign.save()
        audit.record(actor, "campaign.create", campaign, to_state=campaign.status)
    return campaign


@contextmanager
def editing(actor: User, campaign: Campaign, what: str, **data: Any) -> Iterator[Campaign]:
    """Lock the campaign, check it may be set up by `actor`, run the caller's
    changes and record them as one audit event."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().select_related("area").get(pk=campaign.pk)
        _check_area(actor, "campaigns.change_campaign", locked.area)
        if not locked.editable:
            raise CampaignError(
                _("The campaign is %(status)s: its set-up can no longer change.")
                % {"status": locked.get_status_display()}
            )
        yield locked
        audit.record(actor, f"campaign.{what}", locked, **data)


def update_campaign(actor: User, campaign: Campaign, **fields: Any) -> Campaign:
    with editing(actor, campaign, "update", fields=sorted(fields)) as locked:
        if "kind" in fields and isinstance(fields["kind"], str):
            fields["kind"] = kind_named(fields["kind"])
        if "area" in fields and fields["area"] != locked.area:
            _check_area(actor, "campaigns.change_campaign", fields["area"])
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.full_clean()
        locked.save()
    return locked


def save_setup(actor: User, campaign: Campaign, what: str, apply: Callable[[Campaign], Any]) -> Any:
    """Apply a set-up change (a formset's save, a loader's rows) under the
    campaign's lock and rights check."""
    with editing(actor, campaign, what) as locked:
        return apply(locked)


def change_status(actor: User, campaign: Campaign, to: str, reason: str = "") -> Campaign:
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().select_related("area").get(pk=campaign.pk)
        _check_area(actor, "campaigns.change_campaign", locked.area)
        if to not in TRANSITIONS[locked.status]:
            raise CampaignError(
                _("A campaign that is %(from)s cannot become %(to)s.")
                % {"from": locked.get_status_display(), "to": CampaignStatus(to).label}
            )
        if to == CampaignStatus.OPEN:
            errors = [f.message for f in checks.findings(locked) if f.severity == checks.ERROR]
            if errors:
                raise CampaignError(
                    _("The campaign cannot open until these are fixed: %(errors)s")
                    % {"errors": " ".join(errors)}
                )
            if not locked.categories.exists():
                raise CampaignError(_("The campaign cannot open without a category."))
        if (
            locked.status == CampaignStatus.CLOSED
            and to == CampaignStatus.OPEN
            and not reason.strip()
        ):
            raise CampaignError(_("Give a reason for reopening a closed campaign."))
        before = locked.status
        locked.status = to
        locked.save(update_fields=["status"])
        audit.record(
            actor, "campaign.status", locked, from_state=before, to_state=to, reason=reason
        )
    return locked


# -- copying last year's campaign -----------------------------------------------


def shift_years(day: datetime.date | None, years: int) -> datetime.date | None:
    """The same day `years` later; 29 February becomes 28 February."""
    if day is None:
        return None
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def copy_campaign(
    actor: User, source: Campaign, *, year: int | None = None, name: str | None = None
) -> Campaign:
    """依照去年的对象和标准: a new draft with the source's phases, deadlines,
    fund sources, categories and standards, dates moved by the years between."""
    _check_area(actor, "campaigns.add_campaign", source.area)
    year = year or source.year + 1
    years = year - source.year
    if name is None:
        name = source.name.replace(str(source.year), str(year))
        if name == source.name:
            name = f"{source.name}（{year}）"
    with transaction.atomic():
        copy = Campaign.objects.create(
            name=name,
            issuer=source.issuer,
            area=source.area,
            year=year,
            kind=source.kind,
            description=source.description,
            published_on=shift_years(source.published_on, years),
            stacking=source.stacking,
            top_up=source.top_up,
            poverty_line=source.poverty_line,
            notice_days=source.notice_days,
            notice_level=source.notice_level,
            second_review=source.second_review,
            copied_from=source,
        )
        for phase in source.phases.all():
            Phase.objects.create(
                campaign=copy,
                name=phase.name,
                starts_on=shift_years(phase.starts_on, years),
                ends_on=shift_years(phase.ends_on, years),
                to_be_announced=phase.to_be_announced,
                order=phase.order,
            )
        for deadline in source.deadlines.all():
            Deadline.objects.create(
                campaign=copy,
                deliverable=deadline.deliverable,
                title=deadline.title,
                level=deadline.level,
                due_on=shift_years(deadline.due_on, years),
                hard=deadline.hard,
            )
        sources: dict[int, FundSource] = {}
        for fund in source.fund_sources.prefetch_related("shares"):
            sources[fund.pk] = FundSource.objects.create(
                campaign=copy,
                name=fund.name,
                payer=fund.payer,
                budget=fund.budget,
                order=fund.order,
            )
            FundShare.objects.bulk_create(
                FundShare(fund_source=sources[fund.pk], payer=s.payer, percent=s.percent)
                for s in fund.shares.all()
            )
        categories: dict[int, Category] = {}
        originals = list(source.categories.prefetch_related("tiers", "area_quotas", "stacks_with"))
        skip = {"id", "campaign", "fund_source"}
        for original in originals:
            values = {
                f.attname: getattr(original, f.attname)
                for f in Category._meta.concrete_fields
                if f.name not in skip
            }
            new = Category.objects.create(
                campaign=copy,
                fund_source=sources.get(original.fund_source_id)
                if original.fund_source_id
                else None,
                **values,
            )
            categories[original.pk] = new
            Tier.objects.bulk_create(
                Tier(
                    category=new,
                    name=t.name,
                    cash=t.cash,
                    goods=t.goods,
                    conditions=t.conditions,
                    order=t.order,
                )
                for t in original.tiers.all()
            )
            AreaQuota.objects.bulk_create(
                AreaQuota(category=new, area_id=q.area_id, count=q.count)
                for q in original.area_quotas.all()
            )
        for original in originals:
            categories[original.pk].stacks_with.set(
                [categories[o.pk] for o in original.stacks_with.all()]
            )
        audit.record(actor, "campaign.copy", copy, to_state=copy.status, copied_from=source.pk)
    return copy


# -- deadlines ------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineCheck:
    deadline: Deadline | None
    late: bool = False
    refused: bool = False
    message: str = ""


def check_deadline(
    campaign: Campaign, deliverable: str, area: Area, on: datetime.date
) -> DeadlineCheck:
    """Is a submission of `deliverable` by `area` on `on` in time? A hard
    deadline passed refuses it with the reason; a soft one flags it late."""
    deadline = (
        campaign.deadlines.filter(deliverable=deliverable, level=area.level)
        .order_by("due_on")
        .first()
    )
    if deadline is None or on <= deadline.due_on:
        return DeadlineCheck(deadline)
    args = {"title": str(deadline), "due": deadline.due_on.isoformat()}
    if deadline.hard:
        return DeadlineCheck(
            deadline,
            late=True,
            refused=True,
            message=_(
                "%(title)s was due on %(due)s; late submissions are not accepted (逾期不接收)."
            )
            % args,
        )
    return DeadlineCheck(
        deadline, late=True, message=_("%(title)s was due on %(due)s: submitted late.") % args
    )


def working_areas(user: User, campaign: Campaign) -> list[Area]:
    """The areas of the user's roles inside the campaign's area, for due_next:
    empty for someone working above it (who then sees every deadline)."""
    from relief.areacodes import level_of, prefix_of
    from relief.scoping import grants

    return [
        # Unsaved: due_next reads only their code and level.
        Area(code=g.area_code, name=g.area_name, level=level_of(g.area_code))
        for g in grants(user)
        if g.area_code.startswith(prefix_of(campaign.area.code))
    ]


def relevant_levels(area: Area) -> list[str]:
    """The area levels whose deadlines concern someone working in `area`:
    its own and the levels below it."""
    return LEVELS_TOP_DOWN[LEVELS_TOP_DOWN.index(area.level) :]


def due_next(
    campaign: Campaign,
    areas: list[Area],
    on: datetime.date,
    *,
    limit: int = 3,
    deadlines: list[Deadline] | None = None,
) -> tuple[list[Deadline], list[Deadline]]:
    """(overdue, upcoming) deadlines for users working in `areas`; with no area
    (someone above the campaign's area), all of them. `deadlines` may be passed
    when the caller has read the campaign's deadlines already."""
    levels: set[str] = set()
    for area in areas:
        levels |= set(relevant_levels(area))
    if deadlines is None:
        deadlines = list(campaign.deadlines.all())
    deadlines = [d for d in deadlines if not areas or d.level in levels]
    overdue = [d for d in deadlines if d.due_on < on]
    upcoming = [d for d in deadlines if d.due_on >= on][:limit]
    return overdue, upcoming
