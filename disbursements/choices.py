"""Named choices of disbursement (domain.md §4.7)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Method(models.TextChoices):
    """How the money (or the goods) reaches the household."""

    CASH = "cash", _("Cash by the visiting team")
    BANK = "bank", _("Bank transfer / one-card account")
    GOODS = "goods", _("Goods")


class PaymentState(models.TextChoices):
    """planned → handed over → signed, or failed from planned or handed over."""

    PLANNED = "planned", _("Planned")
    HANDED_OVER = "handed_over", _("Handed over")
    SIGNED = "signed", _("Signed for")
    FAILED = "failed", _("Failed")


class Kind(models.TextChoices):
    """A record is a payment, or one half of a correction of a signed one:
    the reversal (its negative) and the replacement (the corrected record)."""

    PAYMENT = "payment", _("Payment")
    REVERSAL = "reversal", _("Reversal")
    REPLACEMENT = "replacement", _("Replacement")


class FailureReason(models.TextChoices):
    NOT_FOUND = "not_found", _("Recipient not found")
    REFUSED = "refused", _("Refused")
    DECEASED = "deceased", _("Deceased")
    OTHER = "other", _("Other")


class ProxyStatus(models.TextChoices):
    REQUESTED = "requested", _("Awaiting a supervisor")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class Evidence(models.TextChoices):
    """How the recipient's own signature was taken."""

    PAD = "pad", _("Signed on screen")
    SHEET = "sheet", _("Signed on the payment sheet (scan)")


class Action(models.TextChoices):
    """What a chained event records."""

    PLANNED = "planned", _("Planned")
    HANDED_OVER = "handed_over", _("Handed over")
    SIGNED = "signed", _("Signed for")
    FAILED = "failed", _("Failed")
    ARRANGED = "arranged", _("Arrangement changed")
    PHOTO = "photo", _("Photo attached")
    REVERSED = "reversed", _("Reversed")
    REPLACED = "replaced", _("Replacement entered")
    BOOKED = "booked", _("Booked")
