"""Fixtures of disbursement: approved applications of township T1's open
campaign (two households in village A, one in village B), their planned
payments, and signature images as a tablet's pad sends them."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from applications.choices import State
from disbursements import services
from disbursements.models import Payment
from tests.applications.conftest import campaign, walk  # noqa: F401  (a fixture)
from tests.conftest import make_household


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def png(*, ink: bool = True, size: tuple[int, int] = (300, 120)) -> bytes:
    """A signature as the pad sends it: strokes on a transparent canvas."""
    image = Image.new("RGBA", size, (255, 255, 255, 0))
    if ink:
        draw = ImageDraw.Draw(image)
        draw.line([(20, 80), (80, 30), (140, 90), (220, 40), (280, 70)], fill="black", width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 160, 200)).save(out, "JPEG")
    return out.getvalue()


def receipt(**fields) -> services.Receipt:
    values = {"signature": png(), "countersignature": png(), "device": "pytest tablet"}
    values.update(fields)
    return services.Receipt(**values)


@pytest.fixture
def approved(people, areas, campaign):  # noqa: F811
    """Three approved applications: 张三 and 赵六 of village A, 李四 of village B."""
    homes = [
        make_household(people.superuser, areas.a, "张三", "张小三"),
        make_household(people.superuser, areas.a, "赵六"),
        make_household(people.superuser, areas.b, "李四"),
    ]
    return [walk(people, campaign, home, State.APPROVED) for home in homes]


@pytest.fixture
def planned(people, campaign, approved) -> list[Payment]:  # noqa: F811
    """The payments of the three, planned by the township clerk."""
    services.plan_payments(people.township_clerk, campaign)
    return list(Payment.objects.filter(campaign=campaign).order_by("number"))
