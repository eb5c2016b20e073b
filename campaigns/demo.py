"""Demo campaigns: the worked examples shipped in docs/examples/."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from campaigns import loader
from campaigns.models import Campaign
from relief.models import User

EXAMPLES = Path(settings.BASE_DIR) / "docs" / "examples"


def ensure_campaigns() -> list[Campaign]:
    """Load each example file once (matched by name and year)."""
    system = User(username="seed_demo", is_superuser=True, is_active=True)
    loaded = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        data = loader.read(path)
        existing = Campaign.objects.filter(name=data.get("name"), year=data.get("year")).first()
        loaded.append(existing or loader.load(system, data))
    return loaded
