"""What the household page shows of the workflow: the flags of the rules
(bars from aid, yearly caps reached), the household's aid by year
(applications.aid_history), the open campaigns a clerk can enter it in and
its relations on record (回避)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from applications.aid_history import aid_history
from applications.choices import ACTIVE
from applications.forms import RecusalForm
from applications.models import Recusal
from applications.workflow import ADD
from campaigns.choices import CampaignStatus
from campaigns.models import Campaign
from recipients.models import Household
from relief.areacodes import ancestor_codes
from relief.models import User


def household_panel(user: User, household: Household) -> dict[str, Any]:
    history = aid_history(user, household)
    applications = [aid.application for aid in history.aids]
    campaigns: list[Campaign] = []
    if user.has_perm(ADD, household):
        applied = {a.campaign_id for a in applications if a.state in ACTIVE}
        covering = {household.village.code, *ancestor_codes(household.village.code)}
        campaigns = [
            c
            for c in Campaign.objects.restrict(user)
            .filter(status=CampaignStatus.OPEN, area__code__in=covering)
            .order_by("-year", "name")
            if c.pk not in applied
        ]
    return {
        "applications": applications,
        "open_campaigns": campaigns,
        "recusals": Recusal.objects.filter(household=household).select_related("user"),
        "history": history,
        "recusal_form": RecusalForm(users=recusal_users(user, household)),
        "can_see_applications": user.has_perm("applications.view_application"),
    }


def recusal_users(user: User, household: Household) -> QuerySet[User] | None:
    """Whom the user may mark as related to the household: anyone of their area
    if they hold the right to, else only themselves (None)."""
    if not user.has_perm("applications.add_recusal", household):
        return None
    return User.objects.restrict(user, perm="applications.add_recusal").order_by("username")
