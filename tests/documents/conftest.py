"""Fixtures of the printed documents: applications brought through the real
services in batches (one appraisal per village, one review, one notice, one
approval), and the poppler tools that read the PDFs back."""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from applications import services
from applications.choices import State
from applications.models import Application, Notice
from campaigns.models import Category, FundSource
from recipients.choices import Relation
from recipients.models import Household
from tests.applications import conftest as workflow
from tests.applications.conftest import entry, open_campaign, past_notice_start
from tests.conftest import member

# The open campaign of township T1 (一般困难户, 500 yuan), as the workflow tests have it.
campaign = workflow.campaign

ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
CONTACT = "城关镇民政办 0311-1234567"
PLACE = "镇便民服务大厅"
MEMBERS = "村支书、村委委员、村民代表"

SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张"
GIVEN = ["建国", "秀英", "志强", "桂兰", "德明", "玉珍", "春生", "淑芬"]


def names(count: int, start: int = 0) -> list[str]:
    """`count` distinct Chinese names (no name is part of another)."""
    pairs = [s + g for g in GIVEN for s in SURNAMES]
    assert start + count <= len(pairs)
    return pairs[start : start + count]


def household(people, village, name: str, *others: str) -> Household:
    """A household of `name` (head) and `others`, with a phone and an address
    that must never reach a public notice."""
    from recipients import services as registry

    members = [member(name, phone="13912345678")] + [
        member(other, Relation.CHILD) for other in others
    ]
    return registry.create_household(
        people.superuser, village=village, address="东大街8号", members=members
    )


def through_notice(people, campaign, homes, categories=None) -> list[Application]:
    """Applications of `homes` (with `categories`, one each, if given) entered,
    appraised, reviewed and put in one public notice per notice area."""
    actor = people.superuser
    categories = categories or [None] * len(homes)
    apps = [
        services.create_application(
            actor, campaign, home, entry(campaign, **({"category": c} if c else {})), submit=True
        )
        for home, c in zip(homes, categories, strict=True)
    ]
    villages = {home.village for home in homes}
    for village in sorted(villages, key=lambda v: v.code):
        services.record_appraisal(
            actor,
            campaign,
            village,
            held_on=datetime.date.today(),
            members=MEMBERS,
            votes=[services.Vote(a.pk, True, 7, 0, 0) for a in apps if a.village == village],
        )
    services.first_review(actor, [a.pk for a in apps]).raise_if_refused()
    areas = {v.parent if campaign.notice_level == "township" else v for v in villages}
    for area in sorted(areas, key=lambda a: a.code):
        services.publish_notice(
            actor,
            campaign,
            area,
            starts_on=past_notice_start(campaign),
            contact=CONTACT,
            place=PLACE,
        )
    return list(Application.objects.filter(pk__in=[a.pk for a in apps]).order_by("number"))


def approved(people, campaign, homes, categories=None) -> list[Application]:
    apps = through_notice(people, campaign, homes, categories)
    services.approve(people.superuser, [a.pk for a in apps]).raise_if_refused()
    apps = list(Application.objects.filter(pk__in=[a.pk for a in apps]).order_by("number"))
    assert {a.state for a in apps} == {State.APPROVED}
    return apps


def big_campaign(people, area, name: str = "2026年春节送温暖"):
    """An open campaign of `area` that can pay for a long list: two fund
    sources and three categories, one of them with fen in its amount."""
    campaign = open_campaign(people, area, name, budget=1_000_000, cash=500)
    county = FundSource.objects.create(
        campaign=campaign, name="区财政", payer="区财政局", budget=1_000_000
    )
    Category.objects.create(
        campaign=campaign, name="重点困难户", cash=800, planned_count=10, fund_source=county
    )
    Category.objects.create(
        campaign=campaign,
        name="特困供养人员",
        cash=Decimal("1234.56"),
        planned_count=10,
        fund_source=county,
    )
    return campaign


def the_notice(campaign) -> Notice:
    return Notice.objects.filter(campaign=campaign).select_related("campaign", "area").get()


# -- reading PDFs ------------------------------------------------------------------


def pdf_text(pdf: bytes, page: int | None = None, *, raw: bool = False) -> str:
    """The text of the PDF (or of one page) as pdftotext -layout reads it, or
    with `raw` in the order it is drawn: a cell's wrapped lines one after the
    other rather than side by side with the next cells'."""
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return _run(["pdftotext", "-raw" if raw else "-layout", *pages, "-", "-"], pdf)


def pdf_pages(pdf: bytes) -> int:
    info = _run(["pdfinfo", "-"], pdf)
    return int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)[1])


def pdf_fonts(pdf: bytes) -> list[tuple[str, bool]]:
    """(font name, embedded) per font the PDF uses."""
    lines = _run(["pdffonts", "-"], pdf).splitlines()[2:]
    fonts = []
    for line in lines:
        # The name is the first field; emb is the third from the right of
        # "emb sub uni object ID" (type and encoding may contain spaces).
        fields = line.split()
        fonts.append((fields[0], fields[-5] == "yes"))
    return fonts


def squeeze(text: str) -> str:
    """Runs of spaces as one: -layout pads columns, and what is compared is words."""
    return re.sub(r"[ \t]+", " ", text)


def unspaced(text: str) -> str:
    """Without any white space: pdftotext drops the spaces between Chinese
    characters and digits ("第 2 页" reads "第2页")."""
    return re.sub(r"\s+", "", text)


def save_first_page_png(pdf: bytes, name: str) -> Path:
    """Page 1 as a PNG in test-artifacts/ (60 dpi), to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    source = ARTIFACTS / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "60",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            source,
            ARTIFACTS / name,
        ],
        check=True,
    )
    return ARTIFACTS / f"{name}.png"


def _run(command: list[str], pdf: bytes) -> str:
    if shutil.which(command[0]) is None:
        pytest.fail("poppler-utils is missing: scripts/system-deps.sh installs it")
    return subprocess.run(command, input=pdf, capture_output=True, check=True).stdout.decode()
