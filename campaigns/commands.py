"""What the management commands share: finding a campaign by its number or name."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from campaigns.models import Campaign


def find_campaign(key: str) -> Campaign:
    """The campaign numbered `key`, or the only one named `key`."""
    found = list(Campaign.objects.filter(pk=int(key))) if key.isdigit() else []
    found = found or list(Campaign.objects.filter(name=key))
    if not found:
        raise CommandError(_("No campaign %(key)s.") % {"key": key})
    if len(found) > 1:
        ids = ", ".join(f"{c.pk} ({c.year}, {c.area})" for c in found)
        raise CommandError(
            _("%(n)s campaigns are named %(key)s: give the number, one of %(ids)s.")
            % {"n": len(found), "key": key, "ids": ids}
        )
    return found[0]
