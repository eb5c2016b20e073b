"""The roster import's state changes: upload → checked (the preview) →
imported. Each is a service function that checks the state, locks the row and
writes an audit event; the screens, the background jobs and `manage.py
import_roster` all go through them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from applications.roster import check, read, write
from applications.roster.models import ColumnMapping, RosterImport, RosterStatus
from applications.workflow import WorkflowError
from campaigns.choices import CampaignStatus
from campaigns.models import Campaign
from relief import audit, collector
from relief.models import User

RosterError = read.RosterError
# A big roster's preview and result are megabytes of JSON: not read where
# only the state and the mapping are needed.
BIG = ("preview", "result")


def _no_progress(done: int, total: int, stage: str) -> None:
    pass


def upload(actor: User, campaign: Campaign, file: UploadedFile) -> RosterImport:
    """Keep the uploaded file (before reading a byte of it, so it is never lost)."""
    if not check.entry_villages(actor, campaign):
        raise WorkflowError(_("You may not enter applications in any village of this campaign."))
    try:
        read.kind_of(file.name or "")
    except RosterError as error:
        raise WorkflowError(str(error)) from error
    if file.size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        raise WorkflowError(
            _("The file is %(size).1f MB; a roster may be at most %(limit)d MB.")
            % {
                "size": file.size / 2**20,
                "limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 2**20,
            }
        )
    with transaction.atomic():
        roster = RosterImport.objects.create(
            campaign=campaign, uploaded_by=actor, file=file, file_name=(file.name or "")[:200]
        )
        audit.record(
            actor,
            "roster.upload",
            roster,
            area=campaign.area,
            file=roster.file_name,
            size=file.size,
        )
    return roster


def _table(roster: RosterImport) -> read.Table:
    with roster.file.open("rb") as handle:
        return read.read(handle, roster.file_name)


def _mapping(roster: RosterImport) -> dict[str, str] | None:
    if roster.mapping:
        return roster.mapping
    saved = ColumnMapping.objects.filter(campaign=roster.campaign_id).first()
    return saved.mapping if saved else None


def preview(
    actor: User,
    roster: RosterImport,
    *,
    mapping: dict[str, str] | None = None,
    progress: check.Progress = _no_progress,
) -> check.Plan | None:
    """The dry run: read the file, plan the import, keep the plan's summary for
    the preview page. A file that cannot be used is marked so, with the reason."""
    if roster.uploaded_by_id != actor.pk:
        raise WorkflowError(_("Only the clerk who uploaded a roster can import it."))
    if roster.status == RosterStatus.IMPORTED:
        raise WorkflowError(_("This roster has been imported already."))
    if mapping is not None:
        roster.mapping = mapping
    try:
        progress(0, 1, _("Reading the file"))
        # Tens of thousands of rows, each a few objects that live until the
        # plan is done: see relief.collector.
        with collector.paused():
            plan = check.plan(
                actor, roster.campaign, _table(roster), mapping=_mapping(roster), progress=progress
            )
    except RosterError as error:
        # The header row, when found, stays: the clerk picks the columns on it.
        roster.preview = {"headers": error.headers} if error.headers else {}
        _mark(actor, roster, RosterStatus.FAILED, error=str(error))
        return None
    roster.mapping = {key: plan.labels[key] for key in plan.columns}
    roster.preview = plan.summary()
    _mark(actor, roster, RosterStatus.CHECKED)
    return plan


def _mark(actor: User, roster: RosterImport, status: str, *, error: str = "") -> None:
    with transaction.atomic():
        before = (
            RosterImport.objects.select_for_update()
            .values_list("status", flat=True)
            .get(pk=roster.pk)
        )
        if before == RosterStatus.IMPORTED:
            raise WorkflowError(_("This roster has been imported already."))
        roster.status, roster.error = status, error
        roster.save(update_fields=["status", "error", "mapping", "preview"])
        audit.record(
            actor,
            "roster.check",
            roster,
            area=roster.campaign.area,
            from_state=before,
            to_state=status,
            reason=error,
            counts=roster.preview.get("counts", {}),
        )


def carry_out(
    actor: User,
    roster: RosterImport,
    *,
    valid_only: bool,
    progress: check.Progress = _no_progress,
) -> dict[str, Any]:
    """Import the roster in one transaction: every row, or (valid_only) the rows
    without problems. The plan is made again inside the transaction, against
    the register as it is now, so nothing checked earlier can have gone stale.
    A roster imports once: a second click finds it imported and is refused."""
    if roster.uploaded_by_id != actor.pk:
        raise WorkflowError(_("Only the clerk who uploaded a roster can import it."))
    _importable(RosterImport.objects.defer(*BIG).get(pk=roster.pk))
    progress(0, 1, _("Reading the file"))
    try:
        table = _table(roster)
    except RosterError as error:
        raise WorkflowError(str(error)) from error
    progress(0, 1, _("Checking and writing"))
    with collector.paused(), transaction.atomic():
        locked = RosterImport.objects.select_for_update().defer(*BIG).get(pk=roster.pk)
        _importable(locked)
        campaign = Campaign.objects.select_for_update().get(pk=roster.campaign_id)
        if campaign.status != CampaignStatus.OPEN:
            raise WorkflowError(
                _("The campaign %(campaign)s is not open.") % {"campaign": campaign}
            )
        plan = check.plan(actor, campaign, table, mapping=_mapping(locked))
        refused = plan.counts()["refused"]
        if refused and not valid_only:
            raise WorkflowError(
                ngettext(
                    "%(count)d row has problems, so nothing was imported. Correct the file and "
                    "upload it again, or choose to import only the valid rows.",
                    "%(count)d rows have problems, so nothing was imported. Correct the file and "
                    "upload it again, or choose to import only the valid rows.",
                    refused,
                )
                % {"count": refused}
            )
        if not plan.valid:
            raise WorkflowError(_("No row of the roster can be imported."))
        reason = _("Roster %(file)s") % {"file": roster.file_name}
        try:
            with transaction.atomic():
                result = write.write(actor, plan, reason=reason, roster_id=roster.pk)
        except IntegrityError as error:
            # Another clerk filed one of these households or applications
            # between our check and our write.
            raise WorkflowError(
                _(
                    "The register changed while importing; nothing was imported. Check the "
                    "roster again."
                )
            ) from error
        locked.status, locked.valid_only = RosterStatus.IMPORTED, valid_only
        locked.imported_at = timezone.now()
        locked.preview = plan.summary()
        locked.result = result
        locked.save(update_fields=["status", "valid_only", "imported_at", "preview", "result"])
        audit.record(
            actor,
            "roster.import",
            locked,
            area=campaign.area,
            from_state=RosterStatus.CHECKED,
            to_state=RosterStatus.IMPORTED,
            valid_only=valid_only,
            applications=result["applications"],
            households=result["households"],
            skipped=result["skipped"],
        )
    roster.refresh_from_db(fields=["status", "valid_only", "imported_at"])
    return result


def _importable(roster: RosterImport) -> None:
    if roster.status != RosterStatus.CHECKED:
        raise WorkflowError(
            _("This roster cannot be imported now (it is %(status)s).")
            % {"status": roster.get_status_display()}
        )


def save_mapping(actor: User, roster: RosterImport) -> ColumnMapping:
    """Keep the roster's column mapping as the campaign's, for the next file."""
    if roster.uploaded_by_id != actor.pk or not roster.mapping:
        raise WorkflowError(_("There is no column mapping to save."))
    with transaction.atomic():
        mapping, _created = ColumnMapping.objects.select_for_update().update_or_create(
            campaign=roster.campaign, defaults={"mapping": roster.mapping, "updated_by": actor}
        )
        audit.record(
            actor, "roster.mapping", roster, area=roster.campaign.area, mapping=roster.mapping
        )
    return mapping
