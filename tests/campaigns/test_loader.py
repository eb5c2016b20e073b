"""Campaign description files: a bad file is refused with the path of the error
and creates nothing; YAML and JSON both work; the command exits with an error."""

from __future__ import annotations

import copy
import json
import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command

from campaigns import checks, loader
from campaigns.budget import budget_table
from campaigns.models import AreaQuota, Campaign, Category, FundSource, Phase
from relief.models import AuditEvent, User

pytestmark = pytest.mark.django_db

FORMAT_DOC = Path(settings.BASE_DIR) / "docs" / "campaign-format.md"

GOOD: dict[str, Any] = {
    "name": "2026年春节慰问",
    "issuer": "城关镇人民政府",
    "area": "130123100000",
    "year": 2026,
    "kind": "春节慰问",
    "phases": [{"name": "摸底审核", "starts": "2026-01-05", "ends": "2026-01-17"}],
    "deadlines": [{"deliverable": "village_list", "due": "2026-01-17", "hard": True}],
    "fund_sources": [
        {"name": "镇财政", "budget": 10000},
        {"name": "低保金", "budget": "1.7万", "shares": {"区财政": 50, "镇财政": 50}},
    ],
    "categories": [
        {
            "name": "一般困难家庭",
            "count": 20,
            "fund_source": "镇财政",
            "standard": {"fixed": {"cash": 500}},
        },
        {
            "name": "低保户",
            "count": 10,
            "fund_source": "低保金",
            "eligibility": "低保户 = 是",
            "area_quotas": {"130123100201": 5, "130123100202": 5},
            "standard": {"fixed": {"cash": 1700}},
        },
        {
            "name": "大病救助",
            "fund_source": "镇财政",
            "escalation": [{"when": "金额 > 3000", "level": "county"}],
            "standard": {
                "percentage": {
                    "base": "合规自付医疗费",
                    "rate": 10,
                    "rounding": 100,
                    "cap": 5000,
                    "threshold": "年度致困费用 >= 2.4万",
                }
            },
        },
        {
            "name": "困难家庭",
            "fund_source": "镇财政",
            "standard": {
                "tiered": [
                    {"name": "重度", "cash": 4000, "when": ["残疾人数 >= 2"]},
                    {"name": "一般", "cash": 600},
                ]
            },
        },
    ],
}


def good() -> dict[str, Any]:
    return copy.deepcopy(GOOD)


def system() -> User:
    return User(username="manage.py", is_superuser=True, is_active=True)


def counts() -> tuple[int, ...]:
    return (
        Campaign.objects.count(),
        FundSource.objects.count(),
        Category.objects.count(),
        Phase.objects.count(),
        AreaQuota.objects.count(),
        AuditEvent.objects.filter(action__startswith="campaign.").count(),
    )


def refused(data: dict[str, Any]) -> loader.LoadError:
    """Load `data`, expect a refusal, and check nothing was created."""
    before = counts()
    with pytest.raises(loader.LoadError) as caught:
        loader.load(system(), data)
    assert counts() == before
    return caught.value


def write(tmp_path: Path, data: dict[str, Any], name: str = "campaign.yaml") -> Path:
    path = tmp_path / name
    if name.endswith(".json"):
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


# -- a good file ----------------------------------------------------------------------


def test_it_loads_a_good_description(areas):
    campaign = loader.load(system(), good())
    assert campaign.area == areas.t1 and campaign.kind.name == "春节慰问"
    assert [c.name for c in campaign.categories.all()] == [
        "一般困难家庭",
        "低保户",
        "大病救助",
        "困难家庭",
    ]
    assert [
        (s.payer, s.percent) for s in campaign.fund_sources.get(name="低保金").shares.all()
    ] == [
        ("区财政", 50),
        ("镇财政", 50),
    ]
    assert campaign.fund_sources.get(name="低保金").budget == 17000
    medical = campaign.categories.get(name="大病救助")
    assert (medical.base_field.key, medical.rate, medical.rounding, medical.cap) == (
        "medical_self_pay",
        10,
        "100",
        5000,
    )
    assert medical.threshold == ["hardship_costs", ">=", "24000", False]
    assert medical.escalations == [[["amount", ">", "3000", False], "county"]]
    assert [t.name for t in campaign.categories.get(name="困难家庭").tiers.all()] == [
        "重度",
        "一般",
    ]
    assert campaign.categories.get(name="低保户").area_quotas.count() == 2
    assert checks.findings(campaign) == []
    assert AuditEvent.objects.filter(action="campaign.create", target_id=str(campaign.pk)).exists()


@pytest.mark.parametrize("name", ["campaign.yaml", "campaign.yml", "campaign.json"])
def test_it_reads_yaml_and_json_alike(areas, tmp_path, name):
    call_command("load_campaign", str(write(tmp_path, good(), name)), stdout=StringIO())
    campaign = Campaign.objects.get()
    assert budget_table(campaign).budget == 27000
    assert campaign.phases.get().ends_on.isoformat() == "2026-01-17"


def test_it_reads_json_written_in_a_yaml_file(areas, tmp_path):
    path = tmp_path / "campaign.yaml"
    path.write_text(json.dumps(good(), ensure_ascii=False), encoding="utf-8")
    call_command("load_campaign", str(path), stdout=StringIO())
    assert Campaign.objects.count() == 1


def test_it_reads_a_file_with_a_byte_order_mark(areas, tmp_path):
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps(good(), ensure_ascii=False), encoding="utf-8-sig")
    call_command("load_campaign", str(path), stdout=StringIO())
    assert Campaign.objects.count() == 1


# -- refusals, each with its path ------------------------------------------------------


def unknown_top_key(d):
    d["colour"] = "red"


def unknown_category_key(d):
    d["categories"][1]["colour"] = "red"


def unknown_standard_key(d):
    d["categories"][0]["standard"]["fixed"]["currency"] = "CNY"


def unknown_tier_key(d):
    d["categories"][3]["standard"]["tiered"][1]["colour"] = "red"


def bad_amount(d):
    d["fund_sources"][0]["budget"] = "一万"


def negative_amount(d):
    d["categories"][0]["standard"]["fixed"]["cash"] = -500


def bad_rate(d):
    d["categories"][2]["standard"]["percentage"]["rate"] = "八十"


def bad_rounding(d):
    d["categories"][2]["standard"]["percentage"]["rounding"] = 5


def unknown_fund_source(d):
    d["categories"][0]["fund_source"] = "县财政"


def unknown_field_in_eligibility(d):
    d["categories"][1]["eligibility"] = ["低保户 = 是", "存款 < 1万"]


def unknown_field_in_tier(d):
    d["categories"][3]["standard"]["tiered"][0]["when"] = ["残疾人 >= 2"]


def unknown_field_in_threshold(d):
    d["categories"][2]["standard"]["percentage"]["threshold"] = "致困费用 >= 2.4万"


def unknown_base_field(d):
    d["categories"][2]["standard"]["percentage"]["base"] = "医疗费"


def two_conditions_in_a_threshold(d):
    d["categories"][2]["standard"]["percentage"]["threshold"] = "年度致困费用 >= 1 且 低保户 = 是"


def unknown_field_in_escalation(d):
    d["categories"][2]["escalation"][0]["when"] = "救助金额 > 3000"


def bad_escalation_level(d):
    d["categories"][2]["escalation"][0]["level"] = "市总工会"


def yes_no_with_a_bound(d):
    d["categories"][1]["eligibility"] = "低保户 >= 1"


def shares_not_100(d):
    d["fund_sources"][1]["shares"] = {"区财政": 50, "镇财政": 40}


def share_above_100(d):
    d["fund_sources"][1]["shares"] = {"区财政": 150, "镇财政": -50}


def range_max_below_min(d):
    d["categories"][0]["standard"] = {"range": {"min": 600, "max": 200}}


def range_without_min(d):
    d["categories"][0]["standard"] = {"range": {"max": 600}}


def two_standards(d):
    d["categories"][0]["standard"] = {"fixed": {"cash": 500}, "range": {"min": 200}}


def no_standard(d):
    d["categories"][0]["standard"] = {}


def empty_tiers(d):
    d["categories"][3]["standard"] = {"tiered": []}


def too_many_instalments(d):
    d["categories"][0]["standard"] = {"instalments": {"annual": 7900, "count": 13}}


def missing_area(d):
    del d["area"]


def unknown_area(d):
    d["area"] = "130123999000"


def missing_name(d):
    del d["name"]


def missing_year(d):
    del d["year"]


def bad_count(d):
    d["categories"][0]["count"] = "3,726"


def bad_stacking(d):
    d["stacking"] = "both"


def bad_date(d):
    d["phases"][0]["starts"] = "2026-01-32"


def phase_ends_before_it_starts(d):
    d["phases"][0]["ends"] = "2026-01-01"


def deadline_without_date(d):
    del d["deadlines"][0]["due"]


def not_a_flag(d):
    d["deadlines"][0]["hard"] = "是"


def bad_deliverable(d):
    d["deadlines"][0]["deliverable"] = "名单"


def duplicate_category(d):
    d["categories"][1]["name"] = "一般困难家庭"


def duplicate_source(d):
    d["fund_sources"][1]["name"] = "镇财政"


def unknown_adds_up_with(d):
    d["categories"][0]["adds_up_with"] = ["退役军人"]


def categories_not_a_list(d):
    d["categories"] = {"name": "一般困难家庭"}


def category_not_a_mapping(d):
    d["categories"][2] = "大病救助"


@pytest.mark.parametrize(
    ("change", "where", "shown"),
    [
        (unknown_top_key, "colour", ""),
        (unknown_category_key, "categories[1].colour", ""),
        (unknown_standard_key, "categories[0].standard.fixed.currency", ""),
        (unknown_tier_key, "categories[3].standard.tiered.tiers[1].colour", ""),
        (bad_amount, "fund_sources[0].budget", "一万"),
        (negative_amount, "categories[0].standard.fixed.cash", ""),
        (bad_rate, "categories[2].standard.percentage.rate", "八十"),
        (bad_rounding, "categories[2].standard.percentage.rounding", "100"),
        (unknown_fund_source, "categories[0].fund_source", "县财政"),
        (unknown_field_in_eligibility, "categories[1].eligibility", "存款"),
        (unknown_field_in_tier, "categories[3].standard.tiered.tiers[0].when", "残疾人"),
        (unknown_field_in_threshold, "categories[2].standard.percentage.threshold", "致困费用"),
        (unknown_base_field, "categories[2].standard.percentage.base", "医疗费"),
        (two_conditions_in_a_threshold, "categories[2].standard.percentage.threshold", ""),
        (unknown_field_in_escalation, "categories[2].escalation[0].when", "救助金额"),
        (bad_escalation_level, "categories[2].escalation[0].level", "市总工会"),
        (yes_no_with_a_bound, "categories[1].eligibility", "低保户"),
        (shares_not_100, "fund_sources[1].shares", "100"),
        (share_above_100, "fund_sources[1].shares.区财政", "100"),
        (range_max_below_min, "categories[0].standard.range", ""),
        (range_without_min, "categories[0].standard.range.min", ""),
        (two_standards, "categories[0].standard", "fixed"),
        (no_standard, "categories[0].standard", "percentage"),
        (empty_tiers, "categories[3].standard.tiered.tiers", ""),
        (too_many_instalments, "categories[0].standard.instalments.count", "12"),
        (missing_area, "area", ""),
        (unknown_area, "area", "130123999000"),
        (missing_name, "name", ""),
        (missing_year, "year", ""),
        (bad_count, "categories[0].count", "3,726"),
        (bad_stacking, "stacking", "highest_plus"),
        (bad_date, "phases[0].starts", "2026-01-32"),
        (phase_ends_before_it_starts, "phases[0]", ""),
        (deadline_without_date, "deadlines[0].due", ""),
        (not_a_flag, "deadlines[0].hard", ""),
        (bad_deliverable, "deadlines[0].deliverable", "village_list"),
        (duplicate_category, "categories", ""),
        (duplicate_source, "fund_sources", ""),
        (unknown_adds_up_with, "categories[0].adds_up_with", "退役军人"),
        (categories_not_a_list, "categories", ""),
        (category_not_a_mapping, "categories[2]", ""),
    ],
)
def test_it_refuses_a_bad_description_with_the_path_of_the_error(areas, change, where, shown):
    data = good()
    change(data)
    error = refused(data)
    assert error.where == where
    assert str(error).startswith(f"{where}: ")
    assert shown in error.message


def test_it_refuses_a_year_outside_the_model_range(areas):
    data = good()
    data["year"] = 1999
    error = refused(data)
    assert "2000" in error.message


def test_it_creates_nothing_when_an_area_quota_names_no_area(areas):
    data = good()
    data["categories"][1]["area_quotas"] = {"130123100201": 5, "130123100299": 5}
    error = refused(data)
    assert "130123100299" in error.message
    # The error path, like every other, is where the key is in the file.
    assert error.where == "categories[1].area_quotas"


@pytest.mark.parametrize("count", ["五", -1, 1.5])
def test_it_refuses_an_area_quota_that_is_not_a_whole_number(areas, count):
    data = good()
    data["categories"][1]["area_quotas"] = {"130123100201": count}
    error = refused(data)
    assert error.where.startswith("categories[1].area_quotas")


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d["categories"][0].update(name="很" * 101), "categories[0].name"),
        (lambda d: d["phases"][0].update(name="很" * 51), "phases[0].name"),
        (lambda d: d["fund_sources"][0].update(payer="很" * 101), "fund_sources[0].payer"),
        (
            lambda d: d["categories"][2]["standard"]["percentage"].update(rate=10000),
            "categories[2].standard.percentage.rate",
        ),
        # Money and shares are kept to the cent and the hundredth of a per cent:
        # more decimals would be rounded silently by the database.
        (lambda d: d["fund_sources"][0].update(budget="100.005"), "fund_sources[0].budget"),
        (
            lambda d: d["fund_sources"][0].update(
                shares={"甲": "33.333", "乙": "33.333", "丙": "33.334"}
            ),
            "fund_sources[0].shares.甲",
        ),
    ],
)
def test_it_checks_lengths_and_limits_before_writing(areas, change, where):
    # "The whole file is checked before anything is written": a value the
    # database cannot hold (PostgreSQL) or the model would refuse must be
    # refused with its path, not stored (SQLite) or crash with a DataError.
    data = good()
    change(data)
    assert refused(data).where == where


# -- the command ------------------------------------------------------------------------


def test_it_makes_the_command_fail_with_the_file_and_the_path(areas, tmp_path):
    data = good()
    data["categories"][0]["fund_source"] = "县财政"
    path = write(tmp_path, data, "bad.yaml")
    before = counts()
    with pytest.raises(CommandError) as caught:
        call_command("load_campaign", str(path), stdout=StringIO())
    message = str(caught.value)
    assert message.startswith(f"{path}: categories[0].fund_source: ")
    assert "县财政" in message
    assert counts() == before


def test_it_exits_with_status_1_from_the_command_line(areas, tmp_path, capsys, monkeypatch):
    from django.core.management import ManagementUtility
    from django.db import connections

    # run_from_argv closes the connections when it ends: not the test's own.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    path = write(tmp_path, {**good(), "area": ""}, "bad.json")
    with pytest.raises(SystemExit) as exit_:
        ManagementUtility(["manage.py", "load_campaign", str(path)]).execute()
    assert exit_.value.code == 1
    assert f"{path}: area: " in capsys.readouterr().err
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("broken.yaml", "name: [unclosed"),
        ("broken.json", '{"name": "x",}'),
        ("list.yaml", "- name: x\n"),
        ("empty.yaml", ""),
    ],
)
def test_it_refuses_a_file_that_is_not_one_campaign(areas, tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError, match=re.escape(str(path))):
        call_command("load_campaign", str(path), stdout=StringIO())
    assert not Campaign.objects.exists()


def test_it_refuses_a_file_that_does_not_exist(areas, tmp_path):
    with pytest.raises(CommandError, match=r"missing\.yaml"):
        call_command("load_campaign", str(tmp_path / "missing.yaml"), stdout=StringIO())


def test_it_prints_the_findings_after_loading(areas, tmp_path):
    data = good()
    data["fund_sources"][1]["budget"] = 20000  # 10 × 1,700 = 17,000 planned
    out = StringIO()
    call_command("load_campaign", str(write(tmp_path, data)), stdout=out)
    lines = out.getvalue().splitlines()
    assert str(Campaign.objects.get().pk) in lines[0] and "2026年春节慰问" in lines[0]
    (finding,) = lines[1:]
    assert "低保金" in finding and "20,000" in finding and "17,000" in finding


# -- the format document's own examples load ------------------------------------------


def doc_blocks(language: str) -> list[str]:
    text = FORMAT_DOC.read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def test_it_loads_the_complete_example_of_the_format_document(areas, tmp_path):
    (complete,) = [b for b in doc_blocks("yaml") if b.startswith("name:")]
    call_command(
        "load_campaign", str(write_text(tmp_path / "doc.yaml", complete)), stdout=StringIO()
    )
    campaign = Campaign.objects.get()
    assert campaign.categories.count() == 3
    assert [f for f in checks.findings(campaign) if f.severity == checks.ERROR] == []


def test_it_loads_the_json_example_of_the_format_document(areas, tmp_path):
    (block,) = doc_blocks("json")
    call_command("load_campaign", str(write_text(tmp_path / "doc.json", block)), stdout=StringIO())
    assert Campaign.objects.get().categories.get().cash == 500


def test_it_parses_every_yaml_fragment_of_the_format_document(areas):
    # Fragments are not whole campaigns, but each must be valid YAML whose keys
    # the loader knows: graft each into a good description and load it.
    fragments = [b for b in doc_blocks("yaml") if not b.startswith("name:")]
    assert len(fragments) >= 8
    for block in fragments:
        for part in split_alternatives(block):
            data = good()
            graft(data, yaml.safe_load(part))
            assert loader.load(system(), data).pk


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def split_alternatives(block: str) -> list[str]:
    """A fragment that shows one key twice (two alternatives) is two fragments."""
    lines = block.splitlines()
    if len(lines) > 1 and all(line.startswith("standard:") for line in lines):
        return lines
    return [block]


def graft(data: dict[str, Any], fragment: dict[str, Any]) -> None:
    for key, value in fragment.items():
        if key == "fund_sources":
            data[key] += value
        elif key in ("phases", "deadlines", "categories"):
            data[key] = value
            if key == "categories":
                names = {s["name"] for s in data["fund_sources"]}
                for c in value:
                    if c.get("fund_source") and c["fund_source"] not in names:
                        data["fund_sources"].append({"name": c["fund_source"], "budget": 0})
                        names.add(c["fund_source"])
        elif key in ("standard", "escalation", "eligibility"):
            data["categories"][2][key] = value
        else:
            raise AssertionError(f"no place for {key} in the test description")
