"""The public notice (公示名单, domain.md §6): who is proposed for aid, posted
for objections.

It is posted in public: a row shows the head of household's name, the ID
number masked (first 6 and last 4 characters), the village, the category and
the amount; never a phone number, an address, an illness or a full ID number.
The query below reads none of those columns but the ID, which is masked
before it reaches the template.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.choices import State
from applications.models import Application, Notice
from campaigns.models import Campaign
from documents.pdf import DocumentError, render_pdf
from relief import idnumber
from relief.areacodes import prefix_of
from relief.choices import AreaLevel
from relief.models import Area
from relief.money import yuan

# The applications a notice lists: those put in it and not decided against
# since. Returned to an earlier stage, an application leaves its notice (the
# workflow clears `notice`) and a new notice will list it; returned by the
# county to the township's approval it is still under this notice, which
# stands (applications.workflow._move). Rejected or withdrawn: not listed.
LISTED = Q(state__in=[State.IN_NOTICE, State.AWAITING_COUNTY, State.APPROVED]) | Q(
    state=State.RETURNED, returned_to=State.IN_NOTICE
)


@dataclass(frozen=True)
class NoticeRow:
    position: int  # 序号
    name: str  # the head of household
    masked_id: str
    village: str
    category: str
    amount: Decimal
    number: str  # the application's, for the office; not printed

    @property
    def amount_text(self) -> str:
        return yuan(self.amount)


@dataclass(frozen=True)
class NoticeRows:
    rows: list[NoticeRow]
    count: int
    total: Decimal


def listed(notice: Notice, village: Area | None = None) -> QuerySet[Application]:
    """The applications `notice` lists, of one village if given."""
    apps = Application.objects.filter(LISTED, notice=notice)
    return apps.filter(village=village) if village is not None else apps


def notice_rows(notice: Notice, village: Area | None = None) -> NoticeRows:
    """The notice's rows by village (in code order) and application number,
    with the number of households and the total; one query."""
    found = (
        listed(notice, village)
        .with_head()
        .order_by("village__code", "number")
        .values_list(
            "number",
            F("head__name"),
            F("head__id_number"),
            "village__name",
            "category__name",
            "amount",
        )
    )
    rows = [
        NoticeRow(
            position=position,
            name=name or "—",
            masked_id=idnumber.mask(id_number) if id_number else "—",
            village=village_name,
            category=category,
            amount=amount or Decimal(0),
            number=number,
        )
        for position, (number, name, id_number, village_name, category, amount) in enumerate(
            found, start=1
        )
    ]
    return NoticeRows(rows=rows, count=len(rows), total=sum((r.amount for r in rows), Decimal(0)))


def notice_for(campaign: Campaign, area_code: str) -> tuple[Notice, Area | None]:
    """The notice to print for `area_code`: the campaign's latest notice of
    that area; for a village under a township's notice, the township's latest
    notice listing the village, with the village to filter it to. DocumentError
    when there is none."""
    area = Area.objects.filter(code=area_code.strip()).first()
    if area is None:
        raise DocumentError(_("No area has the code %(code)s.") % {"code": area_code})
    notices = Notice.objects.filter(campaign=campaign).select_related("campaign", "area")
    own = notices.filter(area=area).first()  # Notice.Meta.ordering: latest first
    if own is not None:
        return own, None
    if area.level == AreaLevel.VILLAGE:
        listing = Application.objects.filter(LISTED, campaign=campaign, village=area)
        above = notices.filter(
            area__level=AreaLevel.TOWNSHIP, pk__in=listing.values("notice")
        ).first()
        if above is not None and area.code.startswith(prefix_of(above.area.code)):
            return above, area
    raise DocumentError(
        _("%(campaign)s has no public notice for %(area)s.")
        % {"campaign": campaign.name, "area": area.name}
    )


def render_notice(notice: Notice, village: Area | None = None) -> bytes:
    """The notice as a PDF, of one village of a township's notice if given.
    DocumentError when it lists no one."""
    found = notice_rows(notice, village)
    if not found.rows:
        raise DocumentError(
            _("The public notice of %(area)s lists no application.")
            % {"area": (village or notice.area).name}
        )
    campaign = notice.campaign
    return render_pdf(
        "documents/notice.html",
        {
            "notice": notice,
            "campaign": campaign,
            "area": notice.area,
            "village": village,
            "rows": found.rows,
            "count": found.count,
            "total": yuan(found.total),
            "issued_on": timezone.localdate(notice.published_at),
        },
    )
