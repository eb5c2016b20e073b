from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisbursementsConfig(AppConfig):
    """Payments, receipts and ledgers (built in a later issue)."""

    name = "disbursements"
    verbose_name = _("Disbursements")
