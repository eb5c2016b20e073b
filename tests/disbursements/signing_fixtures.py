"""What the signing tests and the ledger tests share: a signing key of its
own per test, in a key folder of its own (never the developer's var/keys),
and the ledger campaign of the documents tests with its payments made
through the real services. (Plain functions: each test module wraps them
in its own fixtures.)"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from PIL import Image, ImageDraw

from disbursements import services, signing
from disbursements.choices import Method
from disbursements.models import Payment, SigningKey


def private_key_dir(settings, tmp_path: Path) -> Path:
    """LEDGER_KEY_DIR set to a folder of the test's own (not created yet)."""
    settings.LEDGER_KEY_DIR = tmp_path / "keys"
    return settings.LEDGER_KEY_DIR


def fresh_key(settings, tmp_path: Path) -> SigningKey:
    """An active signing key whose private file is in the test's own folder."""
    private_key_dir(settings, tmp_path)
    return signing.create_key()


def signature_png() -> bytes:
    """A signature as the tablet's pad sends it: strokes on a transparent canvas."""
    image = Image.new("RGBA", (300, 120), (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(20, 80), (80, 30), (140, 90), (220, 40)], fill="black", width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def pay(people, data: SimpleNamespace, settings, tmp_path) -> SimpleNamespace:
    """The payments of the ledger campaign (tests.documents.test_ledger:
    张三 500, 赵六 800 + goods 200, 孙七 333.33 of 东关村, 李四 500 of 西关村):
    planned; 张三's signed for (cadre 王干部), 赵六's handed over, 孙七's left
    planned; 李四's signed for, corrected to 450 (a reversal and a
    replacement) and 西关村 booked. Returns `data` with `payments` by
    application."""
    settings.MEDIA_ROOT = tmp_path / "media"
    campaign, apps = data.campaign, data.apps
    services.plan_payments(people.township_clerk, campaign)
    payments = {p.application_id: p for p in Payment.objects.filter(campaign=campaign)}

    def receipt(**fields) -> services.Receipt:
        return services.Receipt(
            signature=signature_png(), countersignature=signature_png(), device="pytest", **fields
        )

    services.sign(people.clerk_a, payments[apps.zhang.pk], receipt(cadres="王干部"))
    services.hand_over(people.clerk_a, payments[apps.zhao.pk])
    li = services.sign(people.clerk_b, payments[apps.li.pk], receipt())
    services.correct(
        people.finance,
        li,
        services.Correction(cash=Decimal(450), goods=Decimal(0), method=Method.CASH),
        "金额录入错误",
    )
    services.book(people.finance, campaign, apps.li.village)
    data.payments = payments
    return data
