"""Disbursement records (发放记录), their chained events, and the evidence they rest on.

A `Payment` is one payment of one approved application: an annual standard
paid quarterly gives four. Its state moves planned → handed over → signed (or
failed) through `disbursements.services` only; once signed it is never edited:
a correction is a reversal (its negative) plus a replacement, both new records
linked to it (domain.md §5).

Every change to a payment appends a `PaymentEvent` to its campaign's chain:
the event holds a snapshot of the whole record after the change and a SHA-256
over that snapshot and the previous event's hash (`disbursements.chain`), so
an edit, insertion or deletion made behind the application's back (by SQL)
breaks the chain or no longer matches the record, and `verify_chain` names it.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from disbursements.choices import (
    Action,
    Evidence,
    FailureReason,
    Kind,
    Method,
    PaymentState,
    ProxyStatus,
)
from recipients.models import validate_id_number
from relief.choices import AreaLevel
from relief.scoping import ScopedQuerySet

MONEY = {"max_digits": 14, "decimal_places": 2}
ZERO = Decimal("0.00")


class SheetScan(models.Model):
    """A scan of a signed payment sheet (签收表扫描件), against which the
    office ticks off each line as signed (Evidence.SHEET)."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="sheet_scans"
    )
    village = models.ForeignKey(
        "relief.Area",
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": AreaLevel.VILLAGE},
        verbose_name=_("village"),
    )
    file = models.FileField(_("scan"), upload_to="disbursements/scans/%Y/%m/")
    name = models.CharField(_("name"), max_length=200)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope_path = "village"

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = _("scan of a signed payment sheet")
        verbose_name_plural = _("scans of signed payment sheets")

    def __str__(self) -> str:
        return self.name


class Payment(models.Model):
    """发放记录: one payment of one application."""

    number = models.CharField(_("payment number"), max_length=40, unique=True, editable=False)
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="payments"
    )
    application = models.ForeignKey(
        "applications.Application",
        on_delete=models.PROTECT,
        related_name="payments",
        verbose_name=_("application"),
    )
    # The application's village, kept here so a village's payments are read
    # off one index and scoped without a join.
    village = models.ForeignKey(
        "relief.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("village")
    )
    instalment = models.PositiveSmallIntegerField(_("instalment"), default=1)
    instalments = models.PositiveSmallIntegerField(_("of instalments"), default=1)
    kind = models.CharField(_("record kind"), max_length=12, choices=Kind, default=Kind.PAYMENT)
    corrects = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        verbose_name=_("corrects"),
    )
    state = models.CharField(
        _("state"), max_length=12, choices=PaymentState, default=PaymentState.PLANNED
    )
    method = models.CharField(_("method"), max_length=8, choices=Method, default=Method.CASH)
    account = models.CharField(
        _("account"), max_length=40, blank=True, help_text=_("Bank account or one-card number.")
    )
    goods_items = models.JSONField(
        _("goods"), default=list, blank=True, help_text=_("Items and quantities handed over.")
    )
    cash = models.DecimalField(_("cash"), **MONEY, default=ZERO)
    goods = models.DecimalField(_("goods at cash value"), **MONEY, default=ZERO)
    amount = models.DecimalField(_("amount"), **MONEY)
    fund_source = models.ForeignKey(
        "campaigns.FundSource",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
        verbose_name=_("fund source"),
    )
    # Who is paid, as filed when the payment was planned (实名制): the record
    # keeps what was signed for even if the register changes later.
    recipient_name = models.CharField(_("recipient"), max_length=50)
    recipient_id_number = models.CharField(_("ID number"), max_length=18)
    planned_on = models.DateField(_("planned for"), null=True, blank=True)
    cadres = models.CharField(_("delivering cadres"), max_length=100, blank=True)
    handed_over_at = models.DateTimeField(_("handed over"), null=True, blank=True)
    handed_over_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The receipt.
    evidence = models.CharField(_("receipt evidence"), max_length=8, choices=Evidence, blank=True)
    signed_at = models.DateTimeField(_("signed"), null=True, blank=True)
    signed_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signature = models.FileField(
        _("signature"), upload_to="disbursements/signatures/%Y/%m/", blank=True
    )
    signature_sha256 = models.CharField(max_length=64, blank=True)
    countersignature = models.FileField(
        _("cadre's countersignature"), upload_to="disbursements/signatures/%Y/%m/", blank=True
    )
    countersignature_sha256 = models.CharField(max_length=64, blank=True)
    device = models.CharField(_("device"), max_length=200, blank=True)
    # The key the signing device gave its submission: a resend after a lost
    # connection carries the same key and records nothing twice.
    client_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    scan = models.ForeignKey(
        SheetScan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
        verbose_name=_("scan"),
    )
    proxy = models.ForeignKey(
        "ProxyException",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("collected by proxy"),
    )
    photo = models.FileField(_("photo"), upload_to="disbursements/photos/%Y/%m/", blank=True)
    photo_sha256 = models.CharField(max_length=64, blank=True)
    failure_reason = models.CharField(
        _("reason of failure"), max_length=12, choices=FailureReason, blank=True
    )
    failure_note = models.TextField(_("note"), blank=True)
    failed_at = models.DateTimeField(_("failed"), null=True, blank=True)
    booked_at = models.DateTimeField(_("booked"), null=True, blank=True)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope_path = "village"

    class Meta:
        ordering = ["campaign", "number"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        permissions = [
            ("hand_over_payment", _("Hand over payments and take receipts")),
            ("book_payment", _("Book signed payments and close villages")),
            ("correct_payment", _("Correct signed payments")),
            ("approve_proxy", _("Approve collection by a proxy")),
            ("verify_ledger", _("Verify signed ledgers")),
        ]
        constraints = [
            # Each instalment of an application is paid once, even when two
            # clerks plan it at the same moment.
            models.UniqueConstraint(
                fields=["application", "instalment"],
                condition=models.Q(kind=Kind.PAYMENT),
                name="one_payment_per_instalment",
            ),
            # A record is corrected once: one reversal and one replacement.
            models.UniqueConstraint(
                fields=["corrects", "kind"],
                condition=models.Q(corrects__isnull=False),
                name="one_correction_per_record",
            ),
            models.CheckConstraint(
                condition=models.Q(amount=models.F("cash") + models.F("goods")),
                name="payment_amount_is_cash_plus_goods",
            ),
        ]
        indexes = [
            # Every column the reconciliation adds up (disbursements.reconciliation),
            # so it reads the index alone; it serves (campaign, village, state) too.
            models.Index(
                fields=[
                    "campaign",
                    "village",
                    "state",
                    "kind",
                    "fund_source",
                    "amount",
                    "instalment",
                    "planned_on",
                    "handed_over_at",
                    "booked_at",
                ],
                name="payment_figures",
            )
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def settled(self) -> bool:
        """Signed or failed: nothing more happens to it except a correction."""
        return self.state in (PaymentState.SIGNED, PaymentState.FAILED)

    def goods_lines(self) -> list[str]:
        """Each goods item with its quantity: ["大米 10kg", "食用油 5L"]."""
        items = self.goods_items if isinstance(self.goods_items, list) else []
        return [
            f"{item.get('item', '')} {item.get('quantity', '')}".strip()
            if isinstance(item, dict)
            else str(item)
            for item in items
        ]

    @property
    def goods_line(self) -> str:
        """The goods in one line, as lists and pages show them: 大米 10kg、食用油 5L."""
        return "、".join(self.goods_lines())

    @property
    def masked_account(self) -> str:
        return f"****{self.account[-4:]}" if self.account else ""


class PaymentShare(models.Model):
    """One paying level's part of a payment (区、镇各半: two shares)."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="shares")
    payer = models.CharField(_("payer"), max_length=100)
    amount = models.DecimalField(_("amount"), **MONEY)

    class Meta:
        ordering = ["id"]
        verbose_name = _("payer share")
        verbose_name_plural = _("payer shares")

    def __str__(self) -> str:
        return f"{self.payer} {self.amount}"


class ProxyException(models.Model):
    """代领: collection by someone other than the recipient, refused unless
    recorded here with who and why and approved by a supervisor."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="proxy_exceptions")
    name = models.CharField(_("proxy's name"), max_length=50)
    id_number = models.CharField(
        _("proxy's ID number"), max_length=18, validators=[validate_id_number]
    )
    relation = models.CharField(_("relation to the recipient"), max_length=50)
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"), max_length=10, choices=ProxyStatus, default=ProxyStatus.REQUESTED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.TextField(_("note"), blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_path = "payment__village"

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("proxy exception")
        verbose_name_plural = _("proxy exceptions")

    def __str__(self) -> str:
        return f"{self.payment} {self.name}"


class ChainHead(models.Model):
    """The last event of a campaign's chain. Its row is the lock that orders
    the campaign's events, so two clerks at once still get seq n and n+1."""

    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.PROTECT, primary_key=True, related_name="chain_head"
    )
    seq = models.PositiveIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("chain head")
        verbose_name_plural = _("chain heads")

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"


class PaymentEvent(models.Model):
    """One link of a campaign's chain: what happened to a payment, the
    record as it stood afterwards, and the hashes that tie it to the rest."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="payment_events"
    )
    seq = models.PositiveIntegerField(_("sequence"))
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(_("action"), max_length=12, choices=Action)
    from_state = models.CharField(_("from"), max_length=12, blank=True)
    to_state = models.CharField(_("to"), max_length=12, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(_("time"))
    reason = models.TextField(_("reason"), blank=True)
    record = models.JSONField(_("record"))  # the payment after the event (chain.snapshot)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["campaign", "seq"]
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "seq"], name="one_event_per_chain_position")
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.payment_id} {self.action}"


class VillageClosing(models.Model):
    """记账 done: the finance office closed a village's payments for a campaign."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="village_closings"
    )
    village = models.ForeignKey("relief.Area", on_delete=models.PROTECT, related_name="+")
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed"), auto_now_add=True)
    figures = models.JSONField(_("figures"), default=dict)

    objects = ScopedQuerySet.as_manager()
    scope_path = "village"

    class Meta:
        ordering = ["campaign", "village"]
        verbose_name = _("closed village")
        verbose_name_plural = _("closed villages")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "village"], name="village_closed_once")
        ]

    def __str__(self) -> str:
        return f"{self.campaign} {self.village}"


class SigningKey(models.Model):
    """A public key of the office's Ed25519 ledger signing keys. The private
    key stays in a file outside the database (settings.LEDGER_KEY_DIR); the
    public keys stay here after rotation, so old ledgers still verify."""

    key_id = models.CharField(_("key id"), max_length=16, unique=True)
    public_key = models.TextField(_("public key"))  # PEM
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")

    def __str__(self) -> str:
        return self.key_id
