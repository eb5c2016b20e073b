"""The worked examples in docs/examples/, loaded with the command, figure by figure
against the source documents (domain.md §2–3)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command

from campaigns import checks, services
from campaigns.budget import Bounds, budget_table
from campaigns.calculation import compute, stack
from campaigns.choices import ApprovalLevel, Deliverable, StackingPolicy
from campaigns.models import AreaQuota, Campaign, Category
from relief.choices import AreaLevel

pytestmark = pytest.mark.django_db

EXAMPLES = Path(settings.BASE_DIR) / "docs" / "examples"
D = Decimal


def load(path: Path | str) -> Campaign:
    out = StringIO()
    call_command("load_campaign", str(path), stdout=out)
    return Campaign.objects.latest("pk")


def budget_output(campaign: Campaign) -> list[str]:
    out = StringIO()
    call_command("campaign_budget", campaign.name, stdout=out)
    return out.getvalue().splitlines()


def line_of(lines: list[str], start: str) -> str:
    (line,) = [line for line in lines if line.startswith(start)]
    return line


def category(campaign: Campaign, name: str) -> Category:
    return campaign.categories.get(name=name)


def exactly(amount: int) -> Bounds:
    return Bounds(D(amount), D(amount))


# -- 000/篇四: fixed amounts per person, two sections -------------------------------

ROWS_000 = [
    # name, count, cash, goods, total
    ("重点优抚对象", 3726, 100, 0, 372_600),
    ("城市低保人员", 7500, 100, 0, 750_000),
    ("农村低保人员", 10572, 100, 0, 1_057_200),
    ("农村五保户", 4171, 100, 0, 417_100),
    ("孤儿", 267, 100, 0, 26_700),
    ("40%定救人员", 37, 100, 0, 3_700),
    ("一次性定救人员", 220, 100, 0, 22_000),
    ("其他民政对象（原文缺名）", 49, 100, 0, 4_900),
    ("六级以上伤残军人和红军失散人员", 83, 300, 100, 33_200),
    ("百岁老人", 138, 300, 200, 69_000),
    ("敬老院集中供养五保人员", 196, 0, 100, 19_600),
    ("重点优抚对象（点上慰问）", 25, 300, 200, 12_500),
    ("城市低保户（点上慰问）", 25, 300, 200, 12_500),
    ("农村低保户（点上慰问）", 25, 300, 200, 12_500),
]


@pytest.fixture
def chunjie(areas) -> Campaign:
    return load(EXAMPLES / "000-chunjie-weiwen.yaml")


def test_it_loads_000_with_every_row_of_the_source(chunjie):
    assert chunjie.area.code == "130123000000"
    assert chunjie.issuer == "市民政局"
    assert [c.name for c in chunjie.categories.all()] == [r[0] for r in ROWS_000]
    assert {c.unit for c in chunjie.categories.all()} == {"person"}


def test_it_budgets_each_000_row_as_count_times_cash_plus_goods(chunjie):
    rows = {row.category.name: row for s in budget_table(chunjie).sections for row in s.rows}
    for name, count, cash, goods, total in ROWS_000:
        row = rows[name]
        assert row.count == count, name
        assert (row.cash, row.goods) == (D(cash), D(goods)), name
        assert row.rate == exactly(cash + goods), name
        assert row.total == exactly(total), name
        assert count * (cash + goods) == total, name  # the source's own arithmetic


def test_it_subtotals_000_by_section_and_adds_up_to_2813500(chunjie):
    table = budget_table(chunjie)
    assert [(s.name, s.total) for s in table.sections] == [
        ("面上慰问", exactly(2_776_000)),
        ("点上慰问", exactly(37_500)),
    ]
    assert table.total == exactly(2_813_500)
    assert table.budget == D(2_813_500)
    (source,) = table.sources
    assert (source.name, source.budget, source.planned) == (
        "市民政局春节慰问资金",
        D(2_813_500),
        exactly(2_813_500),
    )
    assert source.count == 3726 + 7500 + 10572 + 4171 + 267 + 37 + 220 + 49 + 83 + 138 + 196 + 75
    assert table.unfunded == []


def test_it_prints_the_000_figures_with_the_budget_command(chunjie):
    lines = budget_output(chunjie)
    assert lines[0].startswith("2026年春节慰问送温暖活动")
    for name, count, _cash, _goods, total in ROWS_000:
        line = line_of(lines, name + " ")
        assert f" {count} " in line and line.split()[-2] == f"{total:,}", line
    assert any("2,776,000" in line and "面上慰问" in line for line in lines)
    assert any("37,500" in line and "点上慰问" in line for line in lines)
    # The grand total, the source's line and the budgets' total.
    assert sum("2,813,500" in line for line in lines) == 3


def test_it_finds_nothing_to_fix_in_000(chunjie):
    assert checks.findings(chunjie) == []


def test_it_allocates_the_000_leaders_visits_one_per_township(chunjie, areas):
    quotas = AreaQuota.objects.filter(category__campaign=chunjie)
    assert quotas.count() == 6
    assert {(q.area.code, q.count) for q in quotas} == {
        (areas.t1.code, 1),
        (areas.t2.code, 1),
    }
    assert set(chunjie.categories.filter(section="点上慰问").values_list("quota", flat=True)) == {
        25
    }


def test_it_pays_a_000_centenarian_cash_and_goods_per_person(chunjie):
    rule = category(chunjie, "百岁老人").rule()
    one = compute(rule, {"oldest_age": 101, "persons": 1})
    assert (one.amount, one.cash, one.goods) == (D(500), D(300), D(200))
    two = compute(rule, {"oldest_age": 100, "persons": 2})
    assert (two.amount, two.cash, two.goods) == (D(1000), D(600), D(400))
    assert not compute(rule, {"oldest_age": 99, "persons": 1}).eligible
    goods_only = compute(category(chunjie, "敬老院集中供养五保人员").rule(), {"tekun": True})
    assert (goods_only.cash, goods_only.goods) == (D(0), D(300))  # three persons by default


# -- 003 §1: six fund sources ------------------------------------------------------

SOURCES_003 = [
    ("市、区财政", 65_000, 155, Bounds(D(31_000), D(93_000))),
    ("区民政局救灾救济资金", 62_800, 156, Bounds(D(31_200), D(62_400))),
    ("雷锋慈善会", 27_000, 24, Bounds(D(24_000), None)),
    ("区委组织部", 27_600, 68, Bounds(D(13_600), D(54_400))),
    ("区残联", 10_000, 21, Bounds(D(8_400), D(12_600))),
    ("街道", 100_800, 327, Bounds(D(65_400), D(196_200))),
]


@pytest.fixture
def songwennuan(areas) -> Campaign:
    return load(EXAMPLES / "003-songwennuan-fund-sources.yaml")


def test_it_loads_the_six_fund_sources_of_003(songwennuan):
    table = budget_table(songwennuan)
    assert [(s.name, s.budget, s.count, s.planned) for s in table.sources] == [
        (name, D(budget), count, planned) for name, budget, count, planned in SOURCES_003
    ]
    assert table.budget == D(293_200)  # 29.32万元
    assert sum(b for _n, b, _c, _p in SOURCES_003) == 293_200
    assert table.total == Bounds(D(173_600), None)  # 雷锋慈善会 has no upper bound


def test_it_reports_only_the_second_003_source_as_not_spendable_in_full(songwennuan):
    (finding,) = checks.findings(songwennuan)
    assert finding.severity == checks.WARNING
    assert finding.subject == "区民政局救灾救济资金"
    assert "62,800" in finding.message and "62,400" in finding.message  # 156 × 400
    assert "400" in finding.message.replace("62,400", "").replace("62,800", "")  # what is left
    underspent = [
        s.name
        for s in budget_table(songwennuan).sources
        if s.planned.high is not None and s.planned.high < s.budget
    ]
    assert underspent == ["区民政局救灾救济资金"]


def test_it_prints_the_003_budget_total_with_the_command(songwennuan):
    lines = budget_output(songwennuan)
    assert "293,200" in lines[-1]
    assert "31,200–62,400" in line_of(lines, "区民政局救灾救济资金")
    assert any("≥ 173,600" in line for line in lines)


# -- 001/篇一: instalments and medical aid ------------------------------------------


@pytest.fixture
def zhigong(areas) -> Campaign:
    return load(EXAMPLES / "001-kunnan-zhigong.yaml")


def test_it_loads_001_as_a_trade_union_campaign_with_one_item_per_household(zhigong):
    assert zhigong.kind.name == "困难职工帮扶"
    assert zhigong.stacking == StackingPolicy.EXCLUSIVE
    assert checks.findings(zhigong) == []


@pytest.mark.parametrize(
    ("name", "annual", "each"),
    [("深度困难职工生活救助", 7900, 1975), ("相对困难职工生活救助", 6300, 1575)],
)
def test_it_pays_001_living_aid_in_four_quarterly_instalments(zhigong, name, annual, each):
    out = compute(category(zhigong, name).rule(), {})
    assert out.amount == D(annual)
    assert out.instalments == (D(each),) * 4
    assert sum(out.instalments) == out.amount
    assert out.level == ApprovalLevel.TOWNSHIP


def shenzdu(zhigong, self_pay: str):
    return compute(category(zhigong, "深度困难职工医疗救助").rule(), {"medical_self_pay": self_pay})


@pytest.mark.parametrize(
    ("self_pay", "amount", "level"),
    [
        ("0", 0, ApprovalLevel.TOWNSHIP),
        ("12349.99", 12_300, ApprovalLevel.TOWNSHIP),
        # 12,350 rounds half-up to 12,400, above the self-paid amount: rounded down instead.
        ("12350", 12_300, ApprovalLevel.TOWNSHIP),
        ("12399.99", 12_300, ApprovalLevel.TOWNSHIP),
        ("12400", 12_400, ApprovalLevel.TOWNSHIP),
        ("20000", 20_000, ApprovalLevel.TOWNSHIP),  # 2万元（含2万元）以下
        ("20001", 20_000, ApprovalLevel.PROVINCE),  # 超过2万元的报送省总工会审批
        ("50000", 50_000, ApprovalLevel.PROVINCE),
        ("50000.01", 50_000, ApprovalLevel.NATIONAL),  # 超过5万元的报送全总审批
        ("63456", 63_400, ApprovalLevel.NATIONAL),  # 63,500 would be above 63,456
    ],
)
def test_it_computes_001_deep_hardship_medical_aid_at_the_edges(zhigong, self_pay, amount, level):
    out = shenzdu(zhigong, self_pay)
    assert out.eligible and not out.error
    assert out.amount == D(amount)
    assert out.amount <= D(self_pay)
    assert out.level == level


def test_it_explains_the_001_rounding_down_to_stay_under_the_base(zhigong):
    out = shenzdu(zhigong, "12350")
    assert "12,350" in out.explanation and "12,400" in out.explanation
    assert "12,300" in out.explanation


@pytest.mark.parametrize(
    ("self_pay", "amount"),
    [
        ("0", 0),
        ("12312.50", 9_900),  # 80% = 9,850: half-up to 9,900
        ("12312.49", 9_800),  # 80% = 9,849.992
        ("19937.49", 15_900),  # 80% = 15,949.992
        ("19937.50", 16_000),  # 80% = 15,950 → 16,000, exactly the cap
        ("20000", 16_000),  # 80% = 16,000
        ("20001", 16_000),  # 80% = 16,000.80 → 16,000
        ("30000", 16_000),  # 80% = 24,000: at most 1.6万
        ("1000000", 16_000),
    ],
)
def test_it_computes_001_relative_hardship_medical_aid_at_the_edges(zhigong, self_pay, amount):
    out = compute(category(zhigong, "相对困难职工医疗救助").rule(), {"medical_self_pay": self_pay})
    assert out.amount == D(amount)
    assert out.amount <= D(16_000)
    assert out.level == ApprovalLevel.TOWNSHIP


def yiwai(zhigong, costs, self_pay="30000"):
    facts = {"medical_self_pay": self_pay}
    if costs is not None:
        facts["hardship_costs"] = costs
    return compute(category(zhigong, "意外致困职工医疗救助").rule(), facts)


def test_it_admits_001_accident_hardship_from_24000_of_costs(zhigong):
    below = yiwai(zhigong, "23999.99")
    assert not below.eligible and below.amount is None
    assert "23,999.99" in below.explanation
    at = yiwai(zhigong, "24000")
    assert at.eligible and at.amount == D(4_500)  # 15% of 30,000
    missing = yiwai(zhigong, None)
    assert not missing.eligible and missing.missing == ("hardship_costs",)


@pytest.mark.parametrize(
    ("self_pay", "amount"),
    [
        ("0", 0),
        ("1000", 200),  # 150 → 200
        ("66666.67", 10_000),  # 10,000.0005 → 10,000
        ("200000", 10_000),  # 30,000: at most 1万
    ],
)
def test_it_computes_001_accident_hardship_aid_rounded_and_capped(zhigong, self_pay, amount):
    assert yiwai(zhigong, "24000", self_pay).amount == D(amount)


def test_it_rounds_15_percent_of_2333_30_once_not_twice(zhigong):
    # 15% of 2,333.30 is 349.995: half-up to the nearest 100 is 300. Rounding to the
    # cent first (350.00) and then to 100 gives 400. See the report on
    # campaigns/calculation.py _percentage.
    assert yiwai(zhigong, "24000", "2333.30").amount == D(300)
    assert yiwai(zhigong, "24000", "333.30").amount == D(0)  # 49.995 → 0
    assert yiwai(zhigong, "24000", "999.99").amount == D(100)  # 149.9985 → 100


@pytest.mark.parametrize(
    ("name", "facts", "amount", "parts"),
    [
        ("深度困难职工生活救助", {}, 7900, (4740, 3160)),
        ("深度困难职工医疗救助", {"medical_self_pay": "12350"}, 12_300, (7380, 4920)),
        ("相对困难职工医疗救助", {"medical_self_pay": "12312.50"}, 9_900, (5940, 3960)),
    ],
)
def test_it_splits_001_payments_between_the_two_unions(zhigong, name, facts, amount, parts):
    out = compute(category(zhigong, name).rule(), facts)
    assert out.amount == D(amount)
    assert out.shares == (("市总工会", D(parts[0])), ("县总工会", D(parts[1])))
    assert sum(part for _payer, part in out.shares) == out.amount


def test_it_refuses_a_001_household_two_aid_items(zhigong):
    living = compute(category(zhigong, "深度困难职工生活救助").rule(), {})
    medical = shenzdu(zhigong, "8000")
    refused = stack(zhigong.stacking, [living, medical])
    assert refused.error and refused.amount == 0 and refused.kept == ()
    alone = stack(zhigong.stacking, [medical])
    assert alone.amount == D(8000) and not alone.error


# -- 001/篇二: tiers, top-up, phases, deadlines -------------------------------------

TIERS_FILE = EXAMPLES / "001-chunjie-tiers.yaml"


@pytest.fixture
def tiers(areas) -> Campaign:
    return load(TIERS_FILE)


def test_it_loads_the_001_tiers_campaign_with_its_calendar(tiers, areas):
    assert tiers.area == areas.t1
    assert (tiers.stacking, tiers.top_up, tiers.notice_days) == (
        StackingPolicy.HIGHEST_PLUS,
        D(1000),
        3,
    )
    d = datetime.date
    assert [(p.name, p.starts_on, p.ends_on) for p in tiers.phases.all()] == [
        ("研究部署", d(2026, 1, 4), d(2026, 1, 8)),
        ("摸底审核", d(2026, 1, 5), d(2026, 1, 17)),
        ("公示上报", d(2026, 1, 17), d(2026, 1, 19)),
        ("入户慰问", d(2026, 1, 25), d(2026, 2, 1)),
    ]
    village_list = tiers.deadlines.get(deliverable=Deliverable.VILLAGE_LIST)
    assert (village_list.level, village_list.due_on, village_list.hard) == (
        AreaLevel.VILLAGE,
        d(2026, 1, 17),
        True,
    )
    on_time = services.check_deadline(tiers, Deliverable.VILLAGE_LIST, areas.a, d(2026, 1, 17))
    assert not on_time.late
    late = services.check_deadline(tiers, Deliverable.VILLAGE_LIST, areas.a, d(2026, 1, 18))
    assert late.refused and "2026-01-17" in late.message


def test_it_finds_no_overlap_or_other_fault_in_the_001_tiers(tiers):
    assert checks.findings(tiers) == []
    table = budget_table(tiers)
    planned = {s.name: s.planned for s in table.sources}
    assert planned["建档立卡贫困户一次性生活补助"] == exactly(226_000)  # 14 × 5000 + 52 × 3000


@pytest.mark.parametrize(
    ("dibao", "self_pay", "disabled", "tier", "amount"),
    [
        (True, "40000", 0, "重度", 4000),  # 4万元以上的低保家庭
        (True, "39999.99", 0, "中度", 2000),  # 2万元至4万元: 4万 itself is 重度
        (True, "20000", 0, "中度", 2000),
        (True, "19999.99", 0, "一般", 600),
        (False, "80000", 0, "重度", 4000),
        (False, "79999.99", 0, "中度", 2000),
        (False, "50000", 0, "中度", 2000),
        (False, "49999.99", 0, "一般", 600),
        (False, "39999.99", 0, "一般", 600),  # not 低保: 4万 is not enough
        (True, "0", 2, "重度", 4000),  # 两个残疾人
        (True, "0", 1, "中度", 2000),  # 有残疾人
        (False, "60000", 1, "中度", 2000),
        (True, "30000", 2, "重度", 4000),  # 中度 by cost, 重度 by disability: 重度
        (False, "0", 0, "一般", 600),
    ],
)
def test_it_places_a_001_household_in_its_tier(tiers, dibao, self_pay, disabled, tier, amount):
    facts = {"dibao": dibao, "medical_self_pay": self_pay, "disabled_members": disabled}
    out = compute(category(tiers, "困难家庭").rule(), facts)
    assert (out.tier, out.amount) == (tier, D(amount))


def test_it_adds_the_001_top_up_to_the_higher_of_two_categories(tiers):
    severe = compute(
        category(tiers, "困难家庭").rule(),
        {"dibao": True, "medical_self_pay": "45000", "disabled_members": 0},
    )
    poor = compute(category(tiers, "建档立卡重度贫困户").rule(), {})
    both = stack(tiers.stacking, [severe, poor], top_up=tiers.top_up)
    assert both.amount == D(6000)  # 就高 5000 + 1000
    assert both.kept == ("建档立卡重度贫困户",)


def test_it_reports_the_001_tiers_when_the_source_bounds_are_copied_as_written(areas, tmp_path):
    data = yaml.safe_load(TIERS_FILE.read_text(encoding="utf-8"))
    moderate = data["categories"][0]["standard"]["tiered"][1]
    assert moderate["name"] == "中度"
    # "2万元至4万元" read as including 4万, like the 重度 line "4万元以上".
    moderate["when"][0] = "低保户 = 是 且 合规自付医疗费 >= 2万 且 合规自付医疗费 <= 4万"
    path = tmp_path / "overlapping.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    campaign = load(path)
    (finding,) = checks.findings(campaign)
    assert finding.severity == checks.WARNING
    assert finding.subject == "困难家庭"
    assert "重度" in finding.message and "中度" in finding.message
    assert "40,000" in finding.message  # the household that falls under both
