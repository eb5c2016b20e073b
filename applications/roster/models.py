from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from relief.scoping import ScopedQuerySet


class RosterStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    CHECKED = "checked", _("Checked")
    IMPORTED = "imported", _("Imported")
    FAILED = "failed", _("Cannot be read")


class RosterQuerySet(ScopedQuerySet):
    def of(self, user: object) -> RosterQuerySet:
        """An upload is its uploader's: it holds ID numbers and phone numbers of
        households that may not all be in a colleague's area."""
        if not getattr(user, "pk", None):
            return self.none()
        return self.filter(uploaded_by=user)


class RosterImport(models.Model):
    """One uploaded roster and what became of it. The file is saved before
    anything else happens, so an upload is never lost: a failed check or a
    worker that died can be run again from it."""

    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.PROTECT,
        related_name="roster_imports",
        verbose_name=_("campaign"),
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    file = models.FileField(_("file"), upload_to="rosters/%Y/%m/")
    file_name = models.CharField(_("file name"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=RosterStatus, default=RosterStatus.UPLOADED
    )
    # Column key -> the header wording it was read from (the clerk may change it).
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    # The preview: counts, problems and per-row outcomes (see check.Plan.summary).
    preview = models.JSONField(_("preview"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    valid_only = models.BooleanField(_("valid rows only"), default=False)
    imported_at = models.DateTimeField(_("imported"), null=True, blank=True)
    # Outcome of the import: counts, and the numbers of what was made.
    result = models.JSONField(_("result"), default=dict, blank=True)
    job = models.ForeignKey(
        "relief.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = RosterQuerySet.as_manager()
    scope_path = "campaign__area"

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = _("roster import")
        verbose_name_plural = _("roster imports")

    def __str__(self) -> str:
        return self.file_name


class ColumnMapping(models.Model):
    """The column wordings a campaign's rosters use, saved by a clerk so the
    next village's file is read the same way."""

    campaign = models.OneToOneField(
        "campaigns.Campaign",
        on_delete=models.CASCADE,
        related_name="column_mapping",
        verbose_name=_("campaign"),
    )
    mapping = models.JSONField(_("column mapping"), default=dict)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("column mapping")
        verbose_name_plural = _("column mappings")

    def __str__(self) -> str:
        return str(self.campaign)
