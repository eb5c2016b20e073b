"""The rules of domain.md §5, each answered for a whole batch of applications in
a fixed number of queries (per 500), so a single action and a bulk one of
10,000 check exactly the same things.

Each function returns {application id: refusal message} for the ones it stops.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, TypeVar

from django.db.models import Count, QuerySet, Sum
from django.utils.translation import gettext as _

from applications.choices import ACTIVE, COMMITTED, ObjectionStatus, State
from applications.models import Application, Disqualification, Objection, Recusal
from campaigns.calculation import fmt
from campaigns.models import AreaQuota, Category, FundSource
from recipients.models import Person
from relief.areacodes import prefix_of
from relief.models import User

T = TypeVar("T")
Refusals = dict[int, str]
CHUNK = 500  # values per IN (...): stock SQLite allows 32,766 in one statement


def _in_chunks(values: Iterable[Any], query: Callable[[list[Any]], Iterable[T]]) -> list[T]:
    """`query` run on the values 500 at a time, the results together: a batch of
    any size stays within the database's limit on one statement's parameters."""
    ordered = sorted(set(values), key=str)
    found: list[T] = []
    for start in range(0, len(ordered), CHUNK):
        found.extend(query(ordered[start : start + CHUNK]))
    return found


def disqualified(apps: list[Application], on: datetime.date) -> Refusals:
    """取消补助资格: a household barred until a date is refused, with the reason."""
    found = _in_chunks(
        {a.household_id for a in apps},
        lambda ids: Disqualification.objects.filter(household__in=ids, until__gte=on),
    )
    barred = {d.household_id: d for d in sorted(found, key=lambda d: d.until)}
    return {
        a.pk: _("The household is barred from aid until %(until)s: %(reason)s")
        % {
            "until": barred[a.household_id].until.isoformat(),
            "reason": barred[a.household_id].reason,
        }
        for a in apps
        if a.household_id in barred
    }


def cap_counted() -> QuerySet[Application]:
    """The applications a kind's yearly cap counts: every one holding or
    seeking a place, drafts aside. The refusal below and the household page's
    flags (applications.aid_history) count the same ones."""
    return Application.objects.filter(state__in=ACTIVE - {State.DRAFT})


def over_kind_cap(apps: list[Application]) -> Refusals:
    """At most N aids of one campaign kind per household per year (the kind's
    `per_year`), counted over every campaign of that kind and year."""
    refusals: Refusals = {}
    by_campaign: dict[int, list[Application]] = defaultdict(list)
    for a in apps:
        if a.campaign.kind.per_year:
            by_campaign[a.campaign_id].append(a)
    for batch in by_campaign.values():
        campaign = batch[0].campaign
        earlier = _in_chunks(
            {a.household_id for a in batch},
            lambda ids, campaign=campaign: (
                cap_counted()
                .filter(
                    household__in=ids,
                    campaign__kind=campaign.kind_id,
                    campaign__year=campaign.year,
                )
                .exclude(campaign=campaign)
                .select_related("campaign")
            ),
        )
        earlier.sort(key=lambda a: (a.created_at, a.pk))
        held: dict[int, list[Application]] = defaultdict(list)
        for other in earlier:
            held[other.household_id].append(other)
        for a in batch:
            others = held.get(a.household_id, [])
            if len(others) >= campaign.kind.per_year:
                first = others[0]
                refusals[a.pk] = _(
                    "The household already has %(kind)s aid this year: %(campaign)s, application "
                    "%(number)s (%(state)s). At most %(limit)d per household per year."
                ) % {
                    "kind": campaign.kind.name,
                    "campaign": first.campaign.name,
                    "number": first.number,
                    "state": first.get_state_display(),
                    "limit": campaign.kind.per_year,
                }
    return refusals


def recused(actor: User, apps: list[Application]) -> Refusals:
    """回避: a reviewer may not decide on a household they belong to or are
    marked as related to."""
    households = {a.household_id for a in apps}
    related = dict(
        _in_chunks(
            households,
            lambda ids: Recusal.objects.filter(user=actor, household__in=ids).values_list(
                "household_id", "relation"
            ),
        )
    )
    own: set[int] = set()
    if actor.pk and actor.id_number:
        own = set(
            _in_chunks(
                households,
                lambda ids: Person.objects.filter(
                    household__in=ids, id_number=actor.id_number
                ).values_list("household_id", flat=True),
            )
        )
    refusals: Refusals = {}
    for a in apps:
        if a.household_id in own:
            refusals[a.pk] = _("You are a member of this household and must step aside (回避).")
        elif a.household_id in related:
            refusals[a.pk] = _(
                "You are marked as related to this household (%(relation)s) and must step "
                "aside (回避)."
            ) % {"relation": related[a.household_id]}
    return refusals


def notice_pending(apps: list[Application], on: datetime.date) -> Refusals:
    """Approval waits for the end of the notice and for every objection to be resolved."""
    refusals: Refusals = {}
    objected = set(
        _in_chunks(
            [a.pk for a in apps],
            lambda ids: Objection.objects.filter(
                application__in=ids, status=ObjectionStatus.OPEN
            ).values_list("application_id", flat=True),
        )
    )
    for a in apps:
        if a.notice is None:
            refusals[a.pk] = _("The application has not been in public notice.")
        elif on <= a.notice.ends_on:
            refusals[a.pk] = _(
                "The public notice runs until %(end)s; approve after it has ended."
            ) % {"end": a.notice.ends_on.isoformat()}
        elif a.pk in objected:
            refusals[a.pk] = _("An objection to this application is still open.")
    return refusals


def over_budget(apps: list[Application]) -> Refusals:
    """Fund budgets and quotas are never exceeded. The fund sources and
    categories involved are locked first (in id order, so two approvers never
    deadlock), then what is already committed is read and the batch is
    admitted in order while it fits. Call inside the approval's transaction."""
    source_ids = sorted({a.fund_source_id for a in apps if a.fund_source_id})
    category_ids = sorted({a.category_id for a in apps})
    sources = {s.pk: s for s in FundSource.objects.select_for_update().filter(pk__in=source_ids)}
    categories = {c.pk: c for c in Category.objects.select_for_update().filter(pk__in=category_ids)}
    spent: dict[int, Decimal] = defaultdict(Decimal)
    for row in (
        Application.objects.filter(fund_source__in=source_ids, state__in=COMMITTED)
        .values("fund_source")
        .annotate(total=Sum("amount"))
    ):
        spent[row["fund_source"]] = row["total"] or Decimal(0)
    counted: dict[tuple[int, str], int] = defaultdict(int)  # (category, village code)
    for row in (
        Application.objects.filter(category__in=category_ids, state__in=COMMITTED)
        .values("category", "village__code")
        .annotate(n=Count("pk"))
    ):
        counted[(row["category"], row["village__code"])] = row["n"]
    area_quotas: dict[int, list[AreaQuota]] = defaultdict(list)
    for quota in AreaQuota.objects.filter(category__in=category_ids).select_related("area"):
        area_quotas[quota.category_id].append(quota)

    def used(category: int, prefix: str = "") -> int:
        return sum(
            n for (c, code), n in counted.items() if c == category and code.startswith(prefix)
        )

    refusals: Refusals = {}
    for a in apps:
        category = categories[a.category_id]
        if category.quota is not None and used(category.pk) >= category.quota:
            refusals[a.pk] = _("The quota of %(category)s (%(quota)d) is used up.") % {
                "category": category.name,
                "quota": category.quota,
            }
            continue
        full = next(
            (
                q
                for q in area_quotas[category.pk]
                if a.village.code.startswith(prefix_of(q.area.code))
                and used(category.pk, prefix_of(q.area.code)) >= q.count
            ),
            None,
        )
        if full is not None:
            refusals[a.pk] = _("The quota of %(category)s for %(area)s (%(quota)d) is used up.") % {
                "category": category.name,
                "area": full.area.name,
                "quota": full.count,
            }
            continue
        source = sources.get(a.fund_source_id)
        if source is not None:
            left = source.budget - spent[source.pk]
            if a.amount > left:
                refusals[a.pk] = _(
                    "%(source)s cannot pay %(amount)s: budget %(budget)s, already approved "
                    "%(spent)s, left %(left)s."
                ) % {
                    "source": source.name,
                    "amount": fmt(a.amount),
                    "budget": fmt(source.budget),
                    "spent": fmt(spent[source.pk]),
                    "left": fmt(left),
                }
                continue
            spent[source.pk] += a.amount
        counted[(category.pk, a.village.code)] += 1
    return refusals


def person_flags(apps: Iterable[Application]) -> dict[int, list[str]]:
    """The same person in two households (moved, or split off): if another
    household they belong or belonged to applies in the same campaign, flag it
    for the reviewer. People are matched by ID number, since a member moved to
    another household is a new row there. A flag warns; it does not refuse.
    Five queries for a batch (per 500 households)."""
    apps = list(apps)
    if not apps:
        return {}
    history = Person.history.model
    households = {a.household_id for a in apps}
    names: dict[str, str] = {}
    numbers_of: dict[int, set[str]] = defaultdict(set)  # household -> ID numbers, then or now
    for model, key in ((Person, "household__in"), (history, "household_id__in")):
        for household, number, name in _in_chunks(
            households,
            lambda ids, model=model, key=key: model.objects.filter(**{key: ids}).values_list(
                "household_id", "id_number", "name"
            ),
        ):
            numbers_of[household].add(number)
            names[number] = name
    homes: dict[str, set[int]] = defaultdict(set)  # ID number -> households, then or now
    for model in (Person, history):
        for household, number in _in_chunks(
            names,
            lambda numbers, model=model: model.objects.filter(id_number__in=numbers).values_list(
                "household_id", "id_number"
            ),
        ):
            homes[number].add(household)
    elsewhere = set().union(*homes.values())
    applying: dict[tuple[int, int], list[str]] = defaultdict(list)
    for campaign, household, number in _in_chunks(
        elsewhere,
        lambda ids: Application.objects.filter(
            campaign__in={a.campaign_id for a in apps}, household__in=ids, state__in=ACTIVE
        ).values_list("campaign_id", "household_id", "number"),
    ):
        applying[(campaign, household)].append(number)
    flags: dict[int, list[str]] = defaultdict(list)
    for a in apps:
        for person in sorted(numbers_of[a.household_id]):
            for household in sorted(homes[person] - {a.household_id}):
                for number in applying.get((a.campaign_id, household), []):
                    flags[a.pk].append(
                        _("%(name)s is also a member of the household of application %(number)s.")
                        % {"name": names[person], "number": number}
                    )
    return flags
