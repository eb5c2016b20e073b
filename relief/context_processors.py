from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from relief import scoping

# The navigation: (label, url name, the permission that shows it, or None for all).
NAVIGATION = [
    (_("Overview"), "home", None),
    (_("Campaigns"), "campaigns:campaign_list", "campaigns.view_campaign"),
    (_("Households"), "recipients:household_list", "recipients.view_household"),
    (_("Statistics"), "reports:statistics", "applications.view_application"),
    (_("Home visits"), "disbursements:visit_start", "disbursements.hand_over_payment"),
    (_("Verify a ledger"), "disbursements:verify_ledger", "disbursements.verify_ledger"),
    (_("Areas"), "area_list", "relief.view_area"),
    (_("Users"), "user_list", "relief.view_user"),
]


def navigation(request: HttpRequest) -> dict[str, object]:
    """The menu the user's roles open, and their roles for the header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    perms = user.get_all_permissions()
    match = request.resolver_match
    current = f"{match.namespace}:{match.url_name}" if match and match.namespace else ""
    current = current or (match.url_name if match else "")
    items = []
    for label, name, perm in NAVIGATION:
        if perm is None or perm in perms:
            section = name.rsplit("_", 1)[0]
            items.append(
                {"label": label, "url": reverse(name), "active": current.startswith(section)}
            )
    return {"nav_items": items, "user_grants": scoping.grants(user)}
