"""The set-up screens: what each persona can do, bad input, query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns import services
from campaigns.choices import CampaignStatus, StandardKind
from campaigns.models import Campaign, Category, EvidenceField, FundSource

pytestmark = pytest.mark.django_db


def formset(prefix: str, rows: list[dict], initial: int = 0) -> dict[str, object]:
    data: dict[str, object] = {
        f"{prefix}-TOTAL_FORMS": len(rows),
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }
    for i, row in enumerate(rows):
        data.update({f"{prefix}-{i}-{k}": v for k, v in row.items()})
    return data


def category_post(**fields) -> dict[str, object]:
    data = {
        "name": "重度困难家庭",
        "section": "",
        "kind": StandardKind.FIXED,
        "unit": "household",
        "cash": "0",
        "goods": "0",
        "instalments": "4",
        "rounding": "0.01",
        "range_outside_level": "county",
        "eligibility_text": "",
        "threshold_text": "",
        "escalation_text": "",
    }
    data.update(fields)
    data.update(formset("tiers", []))
    data.update(formset("quotas", []))
    return data


def test_it_creates_a_campaign_from_the_form(client, people, areas):
    client.force_login(people.admin)
    response = client.post(
        reverse("campaigns:campaign_create"),
        {
            "name": "2026年春节送温暖",
            "issuer": "城关镇人民政府",
            "area": areas.t1.pk,
            "year": 2026,
            "kind_name": "送温暖",
            "stacking": "highest_plus",
            "top_up": "1000",
            "notice_days": 3,
            "notice_level": "village",
        },
    )
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:campaign_detail", args=[campaign.pk])
    assert campaign.notice_level == "village" and not campaign.second_review
    assert campaign.top_up == Decimal(1000) and campaign.area == areas.t1


def test_it_offers_a_township_administrator_only_their_own_area(client, people, areas):
    client.force_login(people.admin_t2)
    response = client.post(
        reverse("campaigns:campaign_create"),
        {
            "name": "x",
            "issuer": "x",
            "area": areas.t1.pk,
            "year": 2026,
            "kind_name": "送温暖",
            "stacking": "exclusive",
            "top_up": "0",
            "notice_days": 7,
        },
    )
    assert response.status_code == 400
    assert not Campaign.objects.exists()


def test_it_hides_a_campaign_from_an_administrator_of_another_township(client, people, campaign_t1):
    client.force_login(people.admin_t2)
    url = reverse("campaigns:campaign_edit", args=[campaign_t1.pk])
    response = client.post(url, {"name": "改名"})
    assert response.status_code == 404
    campaign_t1.refresh_from_db()
    assert campaign_t1.name == "2026年春节慰问"


def test_it_shows_a_village_clerk_the_townships_campaign_read_only(client, people, campaign_t1):
    client.force_login(people.clerk_a)
    response = client.get(reverse("campaigns:campaign_detail", args=[campaign_t1.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "一般困难户" in page and "10,000" in page  # 20 × 500 in the budget table
    assert reverse("campaigns:campaign_edit", args=[campaign_t1.pk]) not in page
    assert client.get(reverse("campaigns:campaign_edit", args=[campaign_t1.pk])).status_code == 403


def test_it_saves_a_tiered_category_with_its_conditions(client, people, campaign_t1):
    client.force_login(people.admin)
    data = category_post(kind=StandardKind.TIERED, eligibility_text="本地户籍 = 是")
    data.update(
        formset(
            "tiers",
            [
                {
                    "name": "重度",
                    "cash": "4000",
                    "goods": "0",
                    "conditions_text": "低保户 = 是 且 合规自付医疗费 >= 4万\n残疾人数 >= 2",
                },
                {"name": "一般", "cash": "600", "goods": "0", "conditions_text": ""},
            ],
        )
    )
    url = reverse("campaigns:category_create", args=[campaign_t1.pk])
    response = client.post(url, data)
    assert response.status_code == 302
    category = campaign_t1.categories.get(name="重度困难家庭")
    assert [(t.name, t.cash, t.order) for t in category.tiers.all()] == [
        ("重度", Decimal(4000), 0),
        ("一般", Decimal(600), 1),
    ]
    assert category.tiers.first().conditions == [
        [["dibao", "=", True, False], ["medical_self_pay", ">=", "40000", False]],
        [["disabled_members", ">=", "2", False]],
    ]
    outcome = category.rule().standard  # the rule is buildable from the rows
    assert [t.name for t in outcome.tiers] == ["重度", "一般"]


def test_it_refuses_a_condition_it_cannot_read_and_saves_nothing(client, people, campaign_t1):
    client.force_login(people.admin)
    data = category_post(cash="300", eligibility_text="低保户 = 是\n月收入 < 500")
    response = client.post(reverse("campaigns:category_create", args=[campaign_t1.pk]), data)
    assert response.status_code == 400
    assert "月收入" in response.content.decode()
    assert not campaign_t1.categories.filter(name="重度困难家庭").exists()


def test_it_requires_what_the_chosen_standard_needs(client, people, campaign_t1):
    client.force_login(people.admin)
    data = category_post(kind=StandardKind.PERCENTAGE, rate="80")
    response = client.post(reverse("campaigns:category_create", args=[campaign_t1.pk]), data)
    assert response.status_code == 400
    assert response.context["form"].errors["base_field"]


def test_it_saves_fund_sources_with_their_payer_split(client, people, campaign_t1):
    client.force_login(people.admin)
    source = campaign_t1.fund_sources.get()
    url = reverse("campaigns:campaign_funds", args=[campaign_t1.pk])
    rows = [
        {
            "id": source.pk,
            "name": "镇财政",
            "payer": "城关镇财政所",
            "budget": "10000",
            "shares_text": "",
        },
        {
            "name": "低保户慰问金",
            "payer": "区民政局",
            "budget": "17000",
            "shares_text": "区财政 50%、镇财政 50%",
        },
    ]
    bad = [dict(rows[0]), dict(rows[1], shares_text="区财政 60%、镇财政 50%")]
    response = client.post(url, formset("sources", bad, initial=1))
    assert response.status_code == 400 and "110" in response.content.decode()
    assert campaign_t1.fund_sources.count() == 1

    response = client.post(url, formset("sources", rows, initial=1))
    assert response.status_code == 302
    added = FundSource.objects.get(name="低保户慰问金")
    assert [(s.payer, s.percent) for s in added.shares.all()] == [
        ("区财政", Decimal(50)),
        ("镇财政", Decimal(50)),
    ]


def test_it_will_not_delete_a_fund_source_that_pays_for_a_category(client, people, campaign_t1):
    client.force_login(people.admin)
    source = campaign_t1.fund_sources.get()
    row = {"id": source.pk, "name": "镇财政", "payer": "x", "budget": "10000", "DELETE": "on"}
    response = client.post(
        reverse("campaigns:campaign_funds", args=[campaign_t1.pk]),
        formset("sources", [row], initial=1),
    )
    assert response.status_code == 400
    assert FundSource.objects.filter(pk=source.pk).exists()


def test_it_tries_the_standard_on_typed_evidence(client, people, campaign_t1):
    category = Category.objects.create(
        campaign=campaign_t1,
        name="医疗救助（相对困难）",
        kind=StandardKind.PERCENTAGE,
        base_field=EvidenceField.objects.get(key="medical_self_pay"),
        rate=80,
        rounding="100",
        cap=16000,
        fund_source=campaign_t1.fund_sources.get(),
    )
    client.force_login(people.clerk_a)
    url = reverse("campaigns:category_try", args=[campaign_t1.pk, category.pk])
    response = client.get(url, {"medical_self_pay": "12350"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "9,900" in page and "9,880" in page and "12,350" in page


def test_it_opens_and_copies_a_campaign_from_its_page(client, people, campaign_t1):
    client.force_login(people.admin)
    url = reverse("campaigns:campaign_status", args=[campaign_t1.pk])
    client.post(url, {"to": CampaignStatus.OPEN})
    campaign_t1.refresh_from_db()
    assert campaign_t1.status == CampaignStatus.OPEN
    response = client.post(url, {"to": CampaignStatus.ARCHIVED})  # open → archived: refused
    campaign_t1.refresh_from_db()
    assert response.status_code == 302 and campaign_t1.status == CampaignStatus.OPEN

    response = client.post(
        reverse("campaigns:campaign_copy", args=[campaign_t1.pk]), {"year": 2027}
    )
    copy = Campaign.objects.get(year=2027)
    assert response["Location"] == reverse("campaigns:campaign_detail", args=[copy.pk])
    assert copy.categories.get().name == "一般困难户"


def _count(client, url: str) -> int:
    client.get(url)  # warm up: the first request after sign-in refreshes the session
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_it_lists_campaigns_in_a_fixed_number_of_queries(client, people, areas, campaign_t1):
    client.force_login(people.auditor)
    url = reverse("campaigns:campaign_list")
    few = _count(client, url)
    for year in range(2000, 2020):
        services.copy_campaign(people.superuser, campaign_t1, year=year)
    assert _count(client, url) == few


def test_it_shows_a_campaign_in_a_fixed_number_of_queries(client, people, areas, campaign_t1):
    client.force_login(people.admin)
    url = reverse("campaigns:campaign_detail", args=[campaign_t1.pk])
    few = _count(client, url)
    source = campaign_t1.fund_sources.get()
    for n in range(15):
        category = Category.objects.create(
            campaign=campaign_t1, name=f"类别{n}", kind=StandardKind.TIERED, fund_source=source
        )
        category.tiers.create(name="甲", cash=100)
        category.area_quotas.create(area=areas.a, count=1)
        Category.objects.create(
            campaign=campaign_t1,
            name=f"医疗救助{n}",
            kind=StandardKind.PERCENTAGE,
            base_field=EvidenceField.objects.get(key="medical_self_pay"),
            rate=80,
            fund_source=source,
        )
    assert _count(client, url) == few
