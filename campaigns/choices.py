"""Named choices of campaigns and their standards (domain.md §2–3)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    ARCHIVED = "archived", _("Archived")


class StackingPolicy(models.TextChoices):
    """What a household that falls under several categories receives (domain.md §3.6)."""

    EXCLUSIVE = "exclusive", _("One category per household")
    HIGHEST = "highest", _("The highest amount only")
    HIGHEST_PLUS = "highest_plus", _("The highest amount plus a top-up")
    PAIRS = "pairs", _("Named pairs add up, otherwise the highest")


class Unit(models.TextChoices):
    HOUSEHOLD = "household", _("per household")
    PERSON = "person", _("per person")


class StandardKind(models.TextChoices):
    FIXED = "fixed", _("Fixed amount")
    RANGE = "range", _("Range chosen by the reviewer")
    INSTALMENTS = "instalments", _("Annual amount in instalments")
    PERCENTAGE = "percentage", _("Percentage of a base amount")
    TIERED = "tiered", _("Tiers by evidence")


class ApprovalLevel(models.TextChoices):
    """Who approves, lowest first; the order is the escalation order."""

    TOWNSHIP = "township", _("Township")
    COUNTY = "county", _("County")
    CITY = "city", _("City")
    PROVINCE = "province", _("Province")
    NATIONAL = "national", _("National")

    @classmethod
    def rank(cls, value: str) -> int:
        return cls.values.index(value)


class Deliverable(models.TextChoices):
    """What a deadline asks for; the workflow checks the matching deadline."""

    APPLICATIONS = "applications", _("Applications submitted")
    VILLAGE_LIST = "village_list", _("Village list reported")
    TOWNSHIP_LIST = "township_list", _("Township list reported")
    NOTICE = "notice", _("Public notice finished")
    DISBURSEMENT = "disbursement", _("Payments handed over")
    SIGNED_SHEETS = "signed_sheets", _("Signed payment sheets returned")
    SUMMARY = "summary", _("Summary reported")
    OTHER = "other", _("Other")


class FieldType(models.TextChoices):
    MONEY = "money", _("Amount in yuan")
    NUMBER = "number", _("Number")
    YES_NO = "yes_no", _("Yes or no")
    CHOICE = "choice", _("One of a list")


class RoundingStep(models.TextChoices):
    CENT = "0.01", _("to the cent")
    YUAN = "1", _("to 1 yuan")
    TEN = "10", _("to 10 yuan")
    HUNDRED = "100", _("to 100 yuan")


class NoticeLevel(models.TextChoices):
    """Which office posts the public notice (公示) of a campaign's applications."""

    VILLAGE = "village", _("Village")
    TOWNSHIP = "township", _("Township")
