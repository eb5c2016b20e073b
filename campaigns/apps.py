from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    """Campaigns: phases, deadlines, fund sources, categories and subsidy standards."""

    name = "campaigns"
    verbose_name = _("Campaigns")
