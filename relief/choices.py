"""Named choices of the shared kernel."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AreaLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County")
    TOWNSHIP = "township", _("Township")
    VILLAGE = "village", _("Village")


class Role(models.TextChoices):
    """What a user does in one area (domain.md §1)."""

    VILLAGE_CLERK = "village_clerk", _("Village clerk")
    TOWNSHIP_CLERK = "township_clerk", _("Township clerk")
    TOWNSHIP_SUPERVISOR = "township_supervisor", _("Township supervisor")
    FINANCE_OFFICER = "finance_officer", _("Finance officer")
    COUNTY_APPROVER = "county_approver", _("County approver")
    AUDITOR = "auditor", _("Auditor")
    ADMINISTRATOR = "administrator", _("Administrator")
