from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    """Campaigns, categories and subsidy standards (built in a later issue)."""

    name = "campaigns"
    verbose_name = _("Campaigns")
