"""The campaign summary (工作总结 figures): its figures equal what the records
add up to (on the demo campaign of `manage.py seed_demo`, and on a campaign
paid through the services), the PDF embeds its CJK fonts and prints no ID
number, LibreOffice recalculates the workbook's totals to the same figures,
a village clerk gets their village only, and the number of queries does not
grow with the campaign."""

from __future__ import annotations

import datetime
import io
from collections import defaultdict
from decimal import Decimal
from io import StringIO
from types import SimpleNamespace

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from applications import services as workflow
from applications.choices import State
from applications.models import Application, Notice, Objection
from campaigns.choices import Deliverable
from campaigns.models import Campaign, Deadline
from disbursements import services as payments
from disbursements.choices import FailureReason, Kind, PaymentState
from disbursements.models import Payment
from recipients.models import Person
from relief.choices import Role
from relief.models import Area, AuditEvent, Job, JobStatus, User
from relief.money import in_capitals, yuan
from reports import summary as summary_module
from reports.figures import default_area
from reports.generate import generate_campaign
from reports.summary import (
    LIST_LIMIT,
    Summary,
    render_summary_pdf,
    summary_figures,
    write_summary_xlsx,
)
from reports.summary_xlsx import FIRST_ROW
from tests.applications.conftest import open_campaign
from tests.conftest import make_user
from tests.disbursements.conftest import receipt
from tests.documents.conftest import (
    approved,
    household,
    names,
    pdf_fonts,
    pdf_text,
    save_first_page_png,
    through_notice,
    unspaced,
)
from tests.documents.test_ledger import recalculated, shown

pytestmark = pytest.mark.django_db

ZERO = Decimal("0.00")
D = Decimal


# -- data -----------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def demo(media) -> Campaign:
    """The demo county: its open campaign has payments in every state, a
    failed one (the recipient died), a correction, public notices and an
    objection."""
    call_command("seed_demo", households=60, stdout=StringIO())
    return Campaign.objects.filter(payments__isnull=False).distinct().select_related("area").get()


def demo_user(username: str) -> User:
    return User.objects.get(username=username)


@pytest.fixture
def paid(people, areas, media) -> SimpleNamespace:
    """Township T1's campaign paid through the services: village A has one
    payment signed, one failed and one still planned, village B one handed
    over without a receipt and one planned; each village has an application
    in notice with an objection."""
    campaign = open_campaign(people, areas.t1, "2026年送温暖", budget=100_000)
    approved(people, campaign, [household(people, areas.a, n) for n in names(3)])
    approved(people, campaign, [household(people, areas.b, n) for n in names(2, start=3)])
    payments.plan_payments(people.township_clerk, campaign)
    a1, a2, _a3 = village_payments(campaign, areas.a)
    b1, _b2 = village_payments(campaign, areas.b)
    payments.sign(people.clerk_a, a1, receipt())
    payments.fail(people.clerk_a, a2, FailureReason.NOT_FOUND, "户主外出务工")
    payments.hand_over(people.clerk_b, b1)
    waiting = through_notice(
        people,
        campaign,
        [household(people, areas.a, "褚淑芬"), household(people, areas.b, "卫德明")],
    )
    objections = [
        workflow.record_objection(
            people.supervisor,
            app,
            received_on=app.notice.starts_on,
            channel="phone",
            content="反映收入情况不实",
        )
        for app in waiting
    ]
    return SimpleNamespace(campaign=campaign, objections=objections)


def village_payments(campaign: Campaign, village: Area) -> list[Payment]:
    return list(Payment.objects.filter(campaign=campaign, village=village).order_by("number"))


def by_village(summary: Summary) -> dict[str, tuple]:
    return {
        line.village: (line.approved_count, line.approved_amount, line.signed_amount)
        for line in summary.villages
    }


def records(campaign: Campaign, prefix: str) -> dict[str, object]:
    """The figures counted from the records one at a time, in Python."""
    apps = list(
        Application.objects.filter(campaign=campaign, village__code__startswith=prefix).values(
            "number", "state", "amount", "village__name", "village__code"
        )
    )
    paid = list(
        Payment.objects.filter(campaign=campaign, village__code__startswith=prefix).values(
            "number",
            "application__number",
            "state",
            "kind",
            "amount",
            "handed_over_at",
            "recipient_name",
            "failure_reason",
            "village__code",
        )
    )
    villages: dict[str, list] = defaultdict(lambda: [0, ZERO, ZERO])
    for a in apps:
        if a["state"] == State.APPROVED:
            villages[a["village__name"]][0] += 1
            villages[a["village__name"]][1] += a["amount"]
    codes = {a["village__code"]: a["village__name"] for a in apps}
    for p in paid:
        if p["state"] == PaymentState.SIGNED:
            villages[codes[p["village__code"]]][2] += p["amount"]
    reached = {
        p["application__number"]
        for p in paid
        if p["kind"] == Kind.PAYMENT
        and p["state"] in (PaymentState.HANDED_OVER, PaymentState.SIGNED)
    }

    def total(state: str) -> Decimal:
        return sum((p["amount"] for p in paid if p["state"] == state), ZERO)

    ordered = sorted(paid, key=lambda p: (p["village__code"], p["number"]))
    return {
        "applications": len(apps),
        "approved": [a for a in apps if a["state"] == State.APPROVED],
        "villages": {name: tuple(v) for name, v in villages.items()},
        "signed": total(PaymentState.SIGNED),
        "failed": total(PaymentState.FAILED),
        "handed_over": total(PaymentState.HANDED_OVER),
        "failed_items": [
            (p["number"], p["recipient_name"], p["amount"], p["failure_reason"])
            for p in ordered
            if p["state"] == PaymentState.FAILED
        ],
        "handed": [
            p["number"]
            for p in ordered
            if p["kind"] == Kind.PAYMENT and p["handed_over_at"] is not None
        ],
        "not_reached": sorted(
            (a["village__code"], a["number"])
            for a in apps
            if a["state"] == State.APPROVED and a["number"] not in reached
        ),
    }


# -- the figures ----------------------------------------------------------------------------


def test_it_adds_up_the_demo_campaign_as_its_records_do(demo):
    office = demo_user("tclerk-chengguan")
    supervisor = demo_user("supervisor-chengguan")
    township = demo.area
    # The deadline passed yesterday: everything handed over (today) is late.
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    Deadline.objects.filter(campaign=demo, deliverable=Deliverable.DISBURSEMENT).update(
        due_on=yesterday
    )
    # The demo's objection is dismissed; another one, on 西关村's application in notice, upheld.
    dismissed = Objection.objects.get(application__campaign=demo)
    workflow.resolve_objection(supervisor, dismissed, upheld=False, finding="经核实，子女收入不高")
    in_notice = Application.objects.get(
        campaign=demo, state=State.IN_NOTICE, village__name="西关村"
    )
    upheld = workflow.record_objection(
        supervisor,
        in_notice,
        received_on=in_notice.notice.starts_on,
        channel="letter",
        content="该户已享受其他救助",
    )
    workflow.resolve_objection(supervisor, upheld, upheld=True, finding="情况属实，退回重新评议")

    summary = summary_figures(demo, office, default_area(office, demo))
    expected = records(demo, township.prefix)
    assert summary.area == township and summary.whole

    headline = summary.headline
    assert headline.applications == expected["applications"] == 30
    assert headline.approved_count == len(expected["approved"]) == 10
    assert headline.approved_amount == sum(a["amount"] for a in expected["approved"])
    assert headline.signed_amount == expected["signed"]
    assert headline.returned_amount == expected["failed"] == D(2000)
    assert headline.handed_over_amount == expected["handed_over"]
    assert headline.reached_count == 10 - len(expected["not_reached"])
    assert headline.balanced

    # Per village, in area-code order, each balancing to the cent.
    assert by_village(summary) == expected["villages"]
    assert [line.village for line in summary.villages] == ["南街社区", "东关村", "西关村"]
    for line in summary.villages:
        assert line.balanced
        assert line.approved_amount + line.corrections_amount == (
            line.signed_amount + line.pending_amount + line.failed_amount
        )
    assert summary.total.corrections_amount == D(-100)  # 东关村's correction

    # Per category and fund source, the same money.
    assert sum(c.approved.amount for c in summary.categories) == headline.approved_amount
    assert sum(s.approved for s in summary.sources) == headline.approved_amount
    assert sum(s.signed for s in summary.sources) == headline.signed_amount
    assert sum(s.failed for s in summary.sources) == headline.returned_amount
    assert all(s.remaining == s.budget - s.approved for s in summary.sources)

    # What went wrong, item by item.
    assert [(i.payment, i.recipient, i.amount, i.reason) for i in summary.failed] == [
        (number, name, amount, str(FailureReason(reason).label))
        for number, name, amount, reason in expected["failed_items"]
    ]
    assert summary.failed[0].village == "南街社区" and summary.failed[0].note
    assert [i.payment for i in summary.late] == expected["handed"]
    assert len(summary.late) == 7 and {i.due_on for i in summary.late} == {yesterday}
    assert [
        (Area.objects.get(name=i.village).code, i.application) for i in summary.not_reached
    ] == expected["not_reached"]

    # The notices held, and the objections handled.
    notices = Notice.objects.filter(campaign=demo).order_by("starts_on", "pk")
    assert [(n.area, n.starts_on, n.ends_on, n.contact) for n in summary.notices] == [
        (n.area.name, n.starts_on, n.ends_on, n.contact) for n in notices
    ]
    assert {n.days for n in summary.notices} == {demo.notice_days}
    objections = summary.objections
    assert (objections.received, objections.handled) == (2, 2)
    assert (objections.upheld, objections.dismissed, objections.open) == (1, 1, 0)
    assert [(o.application, o.village, o.finding) for o in objections.lines] == [
        (dismissed.application.number, "南街社区", "经核实，子女收入不高"),
        (in_notice.number, "西关村", "情况属实，退回重新评议"),
    ]
    # 三个一: 3 households not reached, money handed over without a receipt, 7 late.
    assert [v.met for v in summary.three] == [False, False, False]


def test_it_says_each_of_the_three_ones_is_met_once_everything_is_signed_on_time(
    people, areas, media
):
    campaign = open_campaign(people, areas.t1, "2026年送温暖")
    Deadline.objects.create(
        campaign=campaign,
        deliverable=Deliverable.DISBURSEMENT,
        due_on=timezone.localdate() + datetime.timedelta(days=3),
    )
    approved(people, campaign, [household(people, areas.a, n) for n in names(3)])
    payments.plan_payments(people.township_clerk, campaign)
    first, second, third = village_payments(campaign, areas.a)
    payments.sign(people.clerk_a, first, receipt())
    payments.hand_over(people.clerk_a, second)

    def verdicts() -> list[bool | None]:
        return [v.met for v in summary_figures(campaign, people.township_clerk, areas.t1).three]

    # One handed over without a receipt, one not yet: none of them decided for good.
    assert verdicts() == [False, False, None]
    payments.sign(people.clerk_a, second, receipt())
    payments.sign(people.clerk_a, third, receipt())
    assert verdicts() == [True, True, True]


def test_it_counts_a_failed_payment_as_not_reached_but_returned(paid, people, areas):
    summary = summary_figures(paid.campaign, people.township_clerk, areas.t1)
    reached, withheld, on_time = summary.three
    assert not reached.met and "3" in reached.text  # 3 of 5 reached (A's signed, B's handed)
    assert withheld.met is False  # B's payment waits for its receipt
    assert on_time.met is None  # the campaign sets no deadline
    assert [i.reason for i in summary.failed] == [str(FailureReason.NOT_FOUND.label)]
    why = {i.application: i.status for i in summary.not_reached}
    assert len(why) == 3 and len(set(why.values())) == 2  # failed, or not handed over yet


# -- the PDF --------------------------------------------------------------------------------


def test_it_prints_the_demo_summary_with_embedded_cjk_fonts_and_no_id_number(demo):
    office = demo_user("tclerk-chengguan")
    summary = summary_figures(demo, office, demo.area)
    pdf = render_summary_pdf(summary)
    fonts = pdf_fonts(pdf)
    assert fonts and all(embedded for _name, embedded in fonts)
    assert any("CJK" in name for name, _embedded in fonts)
    text = unspaced(pdf_text(pdf))
    assert unspaced(demo.name) in text and demo.issuer in text
    for village in ("南街社区", "东关村", "西关村"):
        assert village in text
    headline = summary.headline
    for amount in (headline.approved_amount, headline.signed_amount, headline.returned_amount):
        assert yuan(amount) in text and in_capitals(amount) in text
    assert yuan(summary.sources[0].budget) in text
    assert summary.failed[0].recipient in text and summary.failed[0].payment in text
    # Never a full ID number: not of the residents, not as a payment recorded it.
    ids = set(Person.objects.values_list("id_number", flat=True))
    ids |= set(Payment.objects.values_list("recipient_id_number", flat=True))
    assert ids and not [number for number in ids if number in text]
    assert "第1页" in text  # page numbers, in the active language's words
    save_first_page_png(pdf, "summary-demo")


def test_it_cuts_the_pdfs_lists_and_says_how_many_more(demo, monkeypatch):
    monkeypatch.setattr(summary_module, "LIST_LIMIT", 1)
    summary = summary_figures(demo, demo_user("tclerk-chengguan"), demo.area)
    assert len(summary.not_reached) == 3  # the figures keep every item
    text = unspaced(pdf_text(render_summary_pdf(summary)))
    first, *others = summary.not_reached
    assert first.name in text and not [i for i in others if i.application in text]
    more = ngettext(
        "… and %(counter)s more: the workbook (.xlsx) lists every one.",
        "… and %(counter)s more: the workbook (.xlsx) lists every one.",
        2,
    ) % {"counter": 2}
    assert unspaced(more) in text
    assert summary.pdf_rows < summary.xlsx_rows


# -- the workbook ---------------------------------------------------------------------------


def sheet_lines(rows: list[list[str]]) -> list[list[str]]:
    """A sheet's lines after the title rows and the header, empty rows left out."""
    return [r for r in rows[FIRST_ROW - 1 :] if any(r)]


def test_libreoffice_recalculates_the_workbooks_totals_to_the_figures(demo, tmp_path):
    Deadline.objects.filter(campaign=demo, deliverable=Deliverable.DISBURSEMENT).update(
        due_on=timezone.localdate() - datetime.timedelta(days=1)
    )
    summary = summary_figures(demo, demo_user("tclerk-chengguan"), demo.area)
    path = tmp_path / "summary.xlsx"
    write_summary_xlsx(summary, path)
    sheets = list(recalculated(path).values())
    assert len(sheets) == 10
    overview, three, villages, categories, sources, failed, late, unreached, notices, objections = [
        sheet_lines(s) for s in sheets
    ]
    h, t = summary.headline, summary.total

    # The overview reads the village sheet's totals: the same figures once recalculated.
    values = [shown(row[1]) for row in overview[:10]]
    assert values == [
        h.applications,
        h.approved_count,
        h.approved_amount,
        h.signed_amount,
        h.returned_amount,
        h.handed_over_amount,
        h.pending_amount,
        h.corrections_amount,
        h.reached_count,
        h.reached_percent,
    ]
    assert overview[2][2] == in_capitals(h.approved_amount)
    assert [row[1] for row in three] == [v.status for v in summary.three]

    *lines, total = villages
    assert [row[0] for row in lines] == [line.village for line in summary.villages]
    assert [shown(v) for v in total[1:11]] == [
        t.approved_count,
        t.approved_amount,
        t.reached_count,
        t.signed_amount,
        t.handed_over_amount,
        t.pending_amount,
        t.failed_amount,
        t.corrections_amount,
        t.late_count,
        t.overdue_count,
    ]

    *_lines, total = categories
    assert shown(total[3]) == h.approved_count and shown(total[4]) == h.approved_amount
    *lines, total = sources
    assert [shown(v) for v in total[1:6]] == [
        sum(s.budget for s in summary.sources),
        h.approved_amount,
        h.signed_amount,
        h.returned_amount,
        sum(s.remaining for s in summary.sources),
    ]

    # The lists have every item and their amounts add up.
    for rows, items, amount_col in ((failed, summary.failed, 4), (late, summary.late, 4)):
        *lines, total = rows
        assert [row[0] for row in lines] == [i.payment for i in items]
        assert shown(total[amount_col]) == sum(i.amount for i in items)
    *lines, total = unreached
    assert [row[0] for row in lines] == [i.application for i in summary.not_reached]
    assert shown(total[4]) == sum(i.amount for i in summary.not_reached)
    assert len(late) - 1 == 7

    assert [(row[0], shown(row[3])) for row in notices] == [
        (n.area, n.days) for n in summary.notices
    ]
    # The objections' counts are COUNTIFs over the list.
    counts = [shown(row[1]) for row in objections[-4:]]
    o = summary.objections
    assert counts == [o.received, o.upheld, o.dismissed, o.open] == [1, 0, 0, 1]


def test_the_workbook_prints_on_a4_with_the_title_rows_repeated(paid, people, areas, tmp_path):
    path = tmp_path / "summary.xlsx"
    write_summary_xlsx(summary_figures(paid.campaign, people.township_clerk, areas.t1), path)
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        assert int(sheet.page_setup.paperSize) == int(sheet.PAPERSIZE_A4)
        assert sheet.print_title_rows == f"$1:${FIRST_ROW - 1}"
        assert sheet["A2"].value == paid.campaign.name


# -- the downloads --------------------------------------------------------------------------


def url(name: str, campaign: Campaign, area: Area | str | None = None) -> str:
    path = reverse(f"reports:summary_{name}", args=[campaign.pk])
    if area is None:
        return path
    return f"{path}?area={area.pk if isinstance(area, Area) else area}"


def test_it_downloads_the_summary_as_pdf_and_xlsx_each_an_audit_event(client, paid, people):
    client.force_login(people.township_clerk)
    response = client.get(url("pdf", paid.campaign))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert ".pdf" in response["Content-Disposition"]
    text = unspaced(pdf_text(response.content))
    assert "东关村" in text and "西关村" in text and yuan(D(2500)) in text  # 5 approved
    response = client.get(url("xlsx", paid.campaign))
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert len(book.sheetnames) == 10
    events = AuditEvent.objects.filter(action="document.summary").order_by("pk")
    assert [(e.actor, e.area, e.data["file"][-4:]) for e in events] == [
        (people.township_clerk, paid.campaign.area, ".pdf"),
        (people.township_clerk, paid.campaign.area, "xlsx"),
    ]


def test_a_village_clerk_gets_their_villages_figures_only(client, paid, people, areas):
    summary = summary_figures(
        paid.campaign, people.clerk_b, default_area(people.clerk_b, paid.campaign)
    )
    assert summary.area == areas.b and not summary.whole
    assert [line.village for line in summary.villages] == ["西关村"]
    assert summary.headline.approved_count == 2 and summary.headline.applications == 3
    assert summary.failed == [] and {i.village for i in summary.not_reached} == {"西关村"}
    assert [o.village for o in summary.objections.lines] == ["西关村"]
    assert all(s.budget is None for s in summary.sources)  # a part has no budget of its own
    # Asked for the township, still only what their role covers.
    wide = summary_figures(paid.campaign, people.clerk_b, areas.t1)
    assert by_village(wide) == by_village(summary)
    assert wide.failed == [] and wide.not_reached == summary.not_reached
    assert wide.objections == summary.objections and wide.headline == summary.headline

    client.force_login(people.clerk_b)
    text = unspaced(pdf_text(client.get(url("pdf", paid.campaign)).content))
    assert "西关村" in text and "东关村" not in text
    assert "东关村" not in unspaced(
        pdf_text(client.get(url("pdf", paid.campaign, areas.t1)).content)
    )
    for area in (areas.a, areas.c, "abc", "99999999999999999999999", "-1"):
        assert client.get(url("pdf", paid.campaign, area)).status_code == 404
        assert client.get(url("xlsx", paid.campaign, area)).status_code == 404


def test_another_township_gets_404_and_an_administrator_403(client, paid, people):
    client.force_login(people.township_clerk_t2)
    assert client.get(url("pdf", paid.campaign)).status_code == 404
    assert client.get(url("xlsx", paid.campaign)).status_code == 404
    client.force_login(people.admin)
    assert client.get(url("pdf", paid.campaign)).status_code == 403
    assert not AuditEvent.objects.filter(action="document.summary").exists()


@pytest.mark.parametrize("kind", ["pdf", "xlsx"])
def test_it_makes_a_big_summary_in_the_background(
    client, paid, people, areas, settings, kind, django_capture_on_commit_callbacks
):
    settings.BACKGROUND_PDF_ROWS = settings.BACKGROUND_ROWS = 1
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    client.force_login(people.clerk_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(url(kind, paid.campaign))
    job = Job.objects.get(owner=people.clerk_a)
    assert response.status_code == 302
    assert response["Location"] == reverse("job_detail", args=[job.pk])
    assert job.status == JobStatus.DONE, job.error
    assert job.params["area"] == areas.a.pk
    content = b"".join(client.get(reverse("job_download", args=[job.pk])).streaming_content)
    if kind == "pdf":
        text = unspaced(pdf_text(content))
        assert "东关村" in text and "西关村" not in text  # the owner's village only
    else:
        book = openpyxl.load_workbook(io.BytesIO(content))
        cells = {c.value for ws in book.worksheets for row in ws.iter_rows() for c in row}
        assert "东关村" in cells and "西关村" not in cells


# -- the cost -------------------------------------------------------------------------------


def objections_and_notices(campaign: Campaign, count: int) -> None:
    """`count` notices and objections on the generated campaign (made directly:
    the generated applications never went through a notice)."""
    official = User.objects.get(username="county")
    apps = list(Application.objects.filter(campaign=campaign).order_by("pk")[:count])
    today = timezone.localdate()
    for app in apps:
        notice = Notice.objects.create(
            campaign=campaign,
            area=app.village,
            starts_on=today - datetime.timedelta(days=5),
            ends_on=today - datetime.timedelta(days=3),
            contact="民政办",
            published_by=official,
        )
        Objection.objects.create(
            application=app,
            received_on=notice.starts_on,
            channel="phone",
            content="异议",
            recorded_by=official,
        )


def test_it_costs_the_same_queries_for_one_village_or_many(db, django_assert_max_num_queries):
    small = generate_campaign(40, townships=1, villages=1, name="小")
    large = generate_campaign(400, townships=4, villages=6, name="大")
    official = make_user("county", Role.COUNTY_APPROVER, small.area)
    counts = []
    for campaign, extra in ((small, 1), (large, 30)):
        objections_and_notices(campaign, extra)
        # Past the deadline: the payments handed over are late, the planned ones overdue.
        Deadline.objects.filter(campaign=campaign, deliverable=Deliverable.DISBURSEMENT).update(
            due_on=timezone.localdate() - datetime.timedelta(days=1)
        )
        campaign = Campaign.objects.select_related("area").get(pk=campaign.pk)
        summary_figures(campaign, official, campaign.area)  # the user's roles, cached
        with django_assert_max_num_queries(30) as captured:
            summary = summary_figures(campaign, official, campaign.area)
        counts.append(len(captured))
    assert counts[0] == counts[1]
    # The large one has long lists, and the PDF still lays out a bounded number of rows.
    assert len(summary.late) > LIST_LIMIT and len(summary.villages) == 24
    assert summary.pdf_rows < summary.xlsx_rows
