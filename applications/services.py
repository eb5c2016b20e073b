"""Every change to an application, named after what the office does.

Views call these; nothing else writes applications. State changes go through
`workflow.run()` (locks, checks, one event per application); the functions
here add what each step needs: the evidence and amount on entry, the meeting
record of an appraisal, the notice of a publication, the objections.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from applications import assess, rules, workflow
from applications.choices import ACTIVE, ObjectionStatus, State
from applications.models import (
    Application,
    AppraisalMeeting,
    AppraisalVote,
    Attachment,
    Disqualification,
    Notice,
    Objection,
    Recusal,
)
from applications.workflow import Extra, Result, WorkflowError
from campaigns.choices import ApprovalLevel, CampaignStatus
from campaigns.models import Campaign, Category
from recipients.models import Household
from relief import audit
from relief.areacodes import prefix_of
from relief.models import Area, User

__all__ = ["WorkflowError"]


# -- entry ------------------------------------------------------------------------


@dataclass
class Entry:
    """What the clerk enters for an application."""

    category: Category
    cause: str
    degree: str
    facts: dict[str, Any]
    also: Sequence[Category] = ()
    cause_detail: str = ""
    proposed: Decimal | None = None
    amount_reason: str = ""


def _refuse_if(refusals: rules.Refusals, app: Application) -> None:
    if app.pk in refusals:
        raise WorkflowError(refusals[app.pk])


def _check_entry(campaign: Campaign, household: Household, entry: Entry) -> None:
    if campaign.status != CampaignStatus.OPEN:
        raise WorkflowError(_("The campaign %(campaign)s is not open.") % {"campaign": campaign})
    if not household.village.code.startswith(prefix_of(campaign.area.code)):
        raise WorkflowError(
            _("Household %(number)s is outside the campaign's area %(area)s.")
            % {"number": household.number, "area": campaign.area.name}
        )
    wrong = [c for c in (entry.category, *entry.also) if c.campaign_id != campaign.pk]
    if wrong:
        raise WorkflowError(_("The category is not one of this campaign's."))
    if entry.category in entry.also:
        raise WorkflowError(_("The category sought cannot also be listed as another category."))


def _assess(app: Application, entry: Entry) -> None:
    assess.apply(app, assess.assess(app, [entry.category, *entry.also]))


def create_application(
    actor: User, campaign: Campaign, household: Household, entry: Entry, *, submit: bool = False
) -> Application:
    """File an application (a draft), optionally submitting it at once."""
    if not actor.has_perm(workflow.ADD, household):
        raise WorkflowError(_("You may not enter applications for this household."))
    _check_entry(campaign, household, entry)
    with transaction.atomic():
        # The campaign row serialises numbering; the unique constraint the one
        # application per household, also against a second clerk at once.
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        existing = (
            Application.objects.filter(campaign=campaign, household=household, state__in=ACTIVE)
            .only("number")
            .first()
        )
        if existing is not None:
            raise WorkflowError(
                _("Household %(household)s already has application %(number)s in this campaign.")
                % {"household": household.number, "number": existing.number}
            )
        sequence = Application.objects.filter(campaign=campaign).count() + 1
        app = Application(
            number=f"{campaign.year}-{campaign.pk:03d}-{sequence:05d}",
            campaign=campaign,
            household=household,
            village=household.village,
            category=entry.category,
            cause=entry.cause,
            cause_detail=entry.cause_detail,
            degree=entry.degree,
            facts=entry.facts,
            proposed=entry.proposed,
            amount_reason=entry.amount_reason,
            created_by=actor if actor.pk else None,
        )
        on = timezone.localdate()
        _refuse_if(rules.disqualified([app], on), app)
        _refuse_if(rules.over_kind_cap([app]), app)
        _assess(app, entry)
        try:
            with transaction.atomic():
                app.save()
        except IntegrityError as error:
            raise WorkflowError(
                _("Household %(household)s already has an application in this campaign.")
                % {"household": household.number}
            ) from error
        app.also.set(entry.also)
        audit.record(actor, "application.create", app, to_state=State.DRAFT, amount=str(app.amount))
        if submit:
            # Entered and submitted in one go, or not at all: a refusal leaves
            # no draft behind for the clerk to trip over on the next try.
            submit_application(actor, app)
    if submit:
        app.refresh_from_db()
    return app


def update_application(actor: User, app: Application, entry: Entry, *, reason: str = "") -> None:
    """Change a draft (or one returned to the clerk): evidence, category, amount."""
    with transaction.atomic():
        app = Application.objects.select_for_update().select_related("campaign").get(pk=app.pk)
        if not actor.has_perm("applications.change_application", app):
            raise WorkflowError(_("You may not change this application."))
        if not app.editable:
            raise WorkflowError(
                _("Application %(number)s is %(state)s and can no longer be changed.")
                % {"number": app.number, "state": app.get_state_display()}
            )
        _check_entry(app.campaign, app.household, entry)
        before = {"category": app.category.name, "amount": str(app.amount)}
        for name in ("category", "cause", "cause_detail", "degree", "facts", "proposed"):
            setattr(app, name, getattr(entry, name))
        app.amount_reason = entry.amount_reason
        _assess(app, entry)
        app.save()
        app.also.set(entry.also)
        audit.record(
            actor,
            "application.update",
            app,
            reason=reason,
            before=before,
            after={"category": app.category.name, "amount": str(app.amount)},
        )


# -- steps --------------------------------------------------------------------------


def _submit_check(actor: User, apps: list[Application], on: datetime.date) -> rules.Refusals:
    """The evidence must give an amount; one outside the standard needs a
    reason; the household must not be barred or over the kind's cap. Flags
    the same person in two households."""
    refusals: rules.Refusals = {}
    for app in apps:
        _assess(app, Entry(app.category, app.cause, app.degree, app.facts, list(app.also.all())))
        if app.problem:
            refusals[app.pk] = app.problem
        elif app.needs_reason and not app.amount_reason.strip():
            refusals[app.pk] = _(
                "The amount is outside the standard: give the reason for it (it also needs "
                "the higher approval)."
            )
    refusals.update(rules.disqualified(apps, on))
    refusals.update(rules.over_kind_cap(apps))
    flags = rules.person_flags(a for a in apps if a.pk not in refusals)
    for app in apps:
        app.flags = flags.get(app.pk, [])
    return refusals


def _approve_check(actor: User, apps: list[Application], on: datetime.date) -> rules.Refusals:
    refusals = rules.notice_pending(apps, on)
    for app in apps:
        if app.amount is None:
            refusals.setdefault(app.pk, _("The application has no amount."))
    refusals.update(rules.disqualified(apps, on))
    rest = [a for a in apps if a.pk not in refusals]
    refusals.update(rules.over_budget(rest))
    return refusals


def _one(result: Result) -> None:
    result.raise_if_refused()
    if not result.done:
        raise WorkflowError(_("The application was not found."))


def submit_application(actor: User, app: Application) -> None:
    """草稿 → 已提交: the clerk sends it up for the village appraisal."""
    _one(submit(actor, [app.pk]))


def submit(actor: User, apps: QuerySet[Application] | Iterable[int]) -> Result:
    return workflow.run(
        actor,
        "submit",
        apps,
        extra=Extra(check=_submit_check, per_row=(*assess.ASSESSED_FIELDS, "flags", "late")),
    )


def first_review(
    actor: User, apps: QuerySet[Application] | Iterable[int], comment: str = ""
) -> Result:
    """乡镇初审 by the township office."""
    return workflow.run(actor, "first_review", apps, comment=comment)


def second_review(
    actor: User, apps: QuerySet[Application] | Iterable[int], comment: str = ""
) -> Result:
    """乡镇复审 by the township leadership, where the campaign asks for it."""
    return workflow.run(actor, "second_review", apps, comment=comment)


def approve(actor: User, apps: QuerySet[Application] | Iterable[int], comment: str = "") -> Result:
    """审批: after the notice, with no open objection, within budget and quota.
    One above the township's level goes on to the county."""
    return workflow.run(actor, "approve", apps, comment=comment, extra=Extra(check=_approve_check))


def county_approve(
    actor: User, apps: QuerySet[Application] | Iterable[int], comment: str = ""
) -> Result:
    """县级审批 of the applications the category or the amount sends up."""

    def check(actor: User, rows: list[Application], on: datetime.date) -> rules.Refusals:
        # Above the county (province, 全总) the county records the higher body's
        # approval: the comment must say which (批准文号).
        county = ApprovalLevel.rank(ApprovalLevel.COUNTY)
        above = [a for a in rows if ApprovalLevel.rank(a.approval_level) > county]
        return {
            a.pk: _("This amount needs the %(level)s's approval: name it in the comment.")
            % {"level": a.get_approval_level_display()}
            for a in above
            if not comment.strip()
        }

    return workflow.run(actor, "county_approve", apps, comment=comment, extra=Extra(check=check))


def return_applications(
    actor: User, apps: QuerySet[Application] | Iterable[int], to_stage: str, reason: str
) -> Result:
    """退回 to an earlier stage, with the reason; it waits there until acted on again."""
    return workflow.run(actor, "return", apps, to_stage=to_stage, reason=reason)


def reject(
    actor: User,
    apps: QuerySet[Application] | Iterable[int],
    reason: str,
    *,
    barred_until: datetime.date | None = None,
) -> Result:
    """不予通过, with the reason. `barred_until` also bars the household from
    aid until that date (取消其次年补助资格), for a false claim."""
    result = workflow.run(actor, "reject", apps, reason=reason)
    if barred_until is not None and result.done:
        with transaction.atomic():
            for app in result.done:
                bar = Disqualification.objects.create(
                    household_id=app.household_id,
                    until=barred_until,
                    reason=reason,
                    application=app,
                    recorded_by=actor,
                )
                audit.record(
                    actor,
                    "household.disqualify",
                    app.household,
                    reason=reason,
                    until=bar.until.isoformat(),
                    application=app.number,
                )
    return result


def withdraw(actor: User, app: Application, reason: str) -> None:
    """撤回 by the clerk, before the village has decided."""
    take_step(actor, app, "withdraw", reason=reason)


def take(
    actor: User,
    name: str,
    apps: QuerySet[Application] | Iterable[int],
    *,
    reason: str = "",
    comment: str = "",
    to_stage: str = "",
) -> Result:
    """Step `name` on a batch, as a page asks for it (one application's buttons,
    the queue's bulk actions); the appraisal and the notice have their own forms."""
    if name == "submit":
        return submit(actor, apps)
    if name == "first_review":
        return first_review(actor, apps, comment)
    if name == "second_review":
        return second_review(actor, apps, comment)
    if name == "approve":
        return approve(actor, apps, comment)
    if name == "county_approve":
        return county_approve(actor, apps, comment)
    if name == "return":
        return return_applications(actor, apps, to_stage, reason)
    if name == "reject":
        return reject(actor, apps, reason)
    if name == "withdraw":
        return workflow.run(actor, "withdraw", apps, reason=reason)
    raise WorkflowError(_("Unknown action."))


def take_step(
    actor: User,
    app: Application,
    name: str,
    *,
    reason: str = "",
    comment: str = "",
    to_stage: str = "",
) -> None:
    """One step on one application: refused, it raises WorkflowError."""
    _one(take(actor, name, [app.pk], reason=reason, comment=comment, to_stage=to_stage))


# -- village appraisal ----------------------------------------------------------------


@dataclass
class Vote:
    application: int
    passed: bool
    votes_for: int | None = None
    votes_against: int | None = None
    abstentions: int | None = None
    remark: str = ""


def record_appraisal(
    actor: User,
    campaign: Campaign,
    village: Area,
    *,
    held_on: datetime.date,
    members: str,
    votes: Sequence[Vote],
    minutes: str = "",
    scan: UploadedFile | None = None,
) -> AppraisalMeeting:
    """民主评议: one meeting decides a batch of the village's applications.
    Those passed go up to the township, those failed are rejected with the
    meeting's remark. All or nothing: a refusal of one stops the record."""
    if not actor.has_perm(workflow.APPRAISE, village):
        raise WorkflowError(_("You may not record appraisals for %(area)s.") % {"area": village})
    if held_on > timezone.localdate():
        raise WorkflowError(_("The meeting date is in the future."))
    if not members.strip():
        raise WorkflowError(_("Name the members present."))
    if not votes:
        raise WorkflowError(_("Give the outcome for at least one application."))
    for vote in votes:
        if not vote.passed and not vote.remark.strip():
            raise WorkflowError(_("Give the reason for each application the meeting did not pass."))
    if scan is not None:
        check_upload(scan)
    with transaction.atomic():
        belongs = set(
            Application.objects.filter(
                campaign=campaign, village=village, pk__in=[v.application for v in votes]
            ).values_list("pk", flat=True)
        )
        if len(belongs) != len({v.application for v in votes}):
            raise WorkflowError(_("An application listed is not of this village and campaign."))
        meeting = AppraisalMeeting.objects.create(
            campaign=campaign,
            village=village,
            held_on=held_on,
            members=members.strip(),
            minutes=minutes,
            minutes_scan=scan or "",
            recorded_by=actor,
        )
        AppraisalVote.objects.bulk_create(
            AppraisalVote(
                meeting=meeting,
                application_id=v.application,
                passed=v.passed,
                votes_for=v.votes_for,
                votes_against=v.votes_against,
                abstentions=v.abstentions,
                remark=v.remark,
            )
            for v in votes
        )
        data = {"meeting": meeting.pk, "held_on": held_on.isoformat()}
        passed = workflow.run(
            actor, "appraise", [v.application for v in votes if v.passed], extra=Extra(data=data)
        )
        passed.raise_if_refused()
        for vote in votes:
            if not vote.passed:
                failed = workflow.run(
                    actor,
                    "reject",
                    [vote.application],
                    reason=_("Not passed by the village appraisal: %(remark)s")
                    % {"remark": vote.remark},
                    extra=Extra(data=data),
                )
                failed.raise_if_refused()
        audit.record(
            actor,
            "appraisal.record",
            meeting,
            passed=sum(1 for v in votes if v.passed),
            failed=sum(1 for v in votes if not v.passed),
        )
    return meeting


# -- public notice --------------------------------------------------------------------


def publish_notice(
    actor: User,
    campaign: Campaign,
    area: Area,
    *,
    starts_on: datetime.date,
    contact: str,
    place: str = "",
) -> Notice:
    """公示: every application of the area that passed the township review goes
    into one notice, for the campaign's number of days."""
    if not actor.has_perm(workflow.PUBLISH, area):
        raise WorkflowError(_("You may not publish notices for %(area)s.") % {"area": area})
    if area.level != campaign.notice_level:
        raise WorkflowError(
            _("This campaign's notices are posted by each %(level)s.")
            % {"level": campaign.get_notice_level_display()}
        )
    if not area.code.startswith(prefix_of(campaign.area.code)):
        raise WorkflowError(_("%(area)s is outside the campaign's area.") % {"area": area.name})
    if not contact.strip():
        raise WorkflowError(_("Say who takes objections and how."))
    if campaign.published_on and starts_on < campaign.published_on:
        raise WorkflowError(_("The notice cannot start before the campaign was published."))
    if starts_on > timezone.localdate() + datetime.timedelta(days=30):
        raise WorkflowError(_("The notice starts more than 30 days from today."))
    waiting = Application.objects.filter(
        campaign=campaign, village__code__startswith=prefix_of(area.code)
    ).at_stage(State.REVIEWED)
    with transaction.atomic():
        notice = Notice.objects.create(
            campaign=campaign,
            area=area,
            starts_on=starts_on,
            ends_on=starts_on + datetime.timedelta(days=campaign.notice_days - 1),
            contact=contact.strip(),
            place=place.strip(),
            published_by=actor,
        )
        result = workflow.run(
            actor,
            "publish",
            waiting,
            extra=Extra(fields={"notice": notice}, data={"notice": notice.pk}),
        )
        result.raise_if_refused()
        if not result.done:
            raise WorkflowError(
                _("No application of %(area)s is waiting for public notice.") % {"area": area.name}
            )
        audit.record(
            actor,
            "notice.publish",
            notice,
            count=len(result.done),
            starts_on=notice.starts_on.isoformat(),
            ends_on=notice.ends_on.isoformat(),
        )
    return notice


def record_objection(
    actor: User,
    app: Application,
    *,
    received_on: datetime.date,
    channel: str,
    content: str,
    objector: str = "",
) -> Objection:
    """异议: recorded against an application while its notice runs (it may be
    entered later, but must have been received within the notice period)."""
    with transaction.atomic():
        app = (
            Application.objects.select_for_update(of=("self",))
            .select_related("notice")
            .get(pk=app.pk)
        )
        if not actor.has_perm("applications.add_objection", app):
            raise WorkflowError(_("You may not record objections here."))
        if app.state != State.IN_NOTICE or app.notice is None:
            raise WorkflowError(_("Objections are recorded while the application is in notice."))
        if not app.notice.running(received_on) or received_on > timezone.localdate():
            raise WorkflowError(
                _("The notice ran from %(start)s to %(end)s; the objection must be received then.")
                % {"start": app.notice.starts_on.isoformat(), "end": app.notice.ends_on.isoformat()}
            )
        if not content.strip():
            raise WorkflowError(_("Write down what the objection says."))
        objection = Objection.objects.create(
            application=app,
            received_on=received_on,
            channel=channel,
            objector=objector.strip(),
            content=content.strip(),
            recorded_by=actor,
        )
        audit.record(
            actor,
            "application.objection",
            app,
            from_state=app.state,
            to_state=app.state,
            reason=objection.content,
            objection=objection.pk,
            channel=channel,
        )
    return objection


def resolve_objection(actor: User, objection: Objection, *, upheld: bool, finding: str) -> None:
    """Answer an objection with a written finding. Upheld: the application goes
    back to the township review. Dismissed: it stays in the notice."""
    if not finding.strip():
        raise WorkflowError(_("Write down the finding."))
    with transaction.atomic():
        objection = Objection.objects.select_for_update().get(pk=objection.pk)
        app = Application.objects.select_for_update(of=("self",)).get(pk=objection.application_id)
        if not actor.has_perm("applications.change_objection", objection):
            raise WorkflowError(_("You may not resolve objections here."))
        if objection.status != ObjectionStatus.OPEN:
            raise WorkflowError(_("This objection has been resolved already."))
        objection.status = ObjectionStatus.UPHELD if upheld else ObjectionStatus.DISMISSED
        objection.finding = finding.strip()
        objection.resolved_by = actor
        objection.resolved_at = timezone.now()
        objection.save()
        audit.record(
            actor,
            "application.objection_" + objection.status,
            app,
            from_state=app.state,
            to_state=app.state,
            reason=objection.finding,
            objection=objection.pk,
        )
        if upheld and app.state == State.IN_NOTICE:
            # The finding is the reason; whoever resolves may return it.
            app.state, app.returned_to, app.notice = State.RETURNED, State.APPRAISED, None
            app.save(update_fields=["state", "returned_to", "notice", "updated_at"])
            audit.record(
                actor,
                "application.return",
                app,
                from_state=State.IN_NOTICE,
                to_state=f"{State.RETURNED}:{State.APPRAISED}",
                reason=objection.finding,
                objection=objection.pk,
            )


# -- recusal, attachments ---------------------------------------------------------------


def declare_recusal(actor: User, user: User, household: Household, relation: str) -> Recusal:
    """Mark `user` as related to `household` (回避). Anyone may declare it for
    themselves; marking someone else needs the right to."""
    if not relation.strip():
        raise WorkflowError(_("Say how they are related."))
    if user != actor and not actor.has_perm("applications.add_recusal", household):
        raise WorkflowError(_("You may only declare your own relations."))
    if not actor.has_perm("recipients.view_household", household):
        raise WorkflowError(_("You may not see this household."))
    with transaction.atomic():
        recusal, created = Recusal.objects.get_or_create(
            user=user,
            household=household,
            defaults={"relation": relation.strip(), "recorded_by": actor},
        )
        if not created:
            raise WorkflowError(_("This relation is on record already."))
        audit.record(actor, "household.recusal", household, user=user.username, relation=relation)
    return recusal


ALLOWED_UPLOADS = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"%PDF-": "application/pdf",
}


def check_upload(upload: UploadedFile) -> str:
    """The file's type, read from its first bytes (not its name), or a refusal."""
    limit = settings.ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise WorkflowError(
            _("%(name)s is %(size).1f MB; at most %(limit)d MB can be attached.")
            % {"name": upload.name, "size": upload.size / 2**20, "limit": limit // 2**20}
        )
    head = upload.read(16)
    upload.seek(0)
    for magic, kind in ALLOWED_UPLOADS.items():
        if head.startswith(magic):
            return kind
    raise WorkflowError(
        _("%(name)s is not a JPEG or PNG photo or a PDF scan.") % {"name": upload.name}
    )


def attach(
    actor: User, app: Application, upload: UploadedFile, description: str = ""
) -> Attachment:
    """Keep a scan or photo with the application."""
    if not actor.has_perm("applications.add_attachment", app):
        raise WorkflowError(_("You may not add files to this application."))
    kind = check_upload(upload)
    with transaction.atomic():
        attachment = Attachment.objects.create(
            application=app,
            file=upload,
            name=upload.name[:200],
            size=upload.size,
            content_type=kind,
            description=description.strip(),
            uploaded_by=actor,
        )
        audit.record(
            actor,
            "application.attach",
            app,
            attachment=attachment.pk,
            name=attachment.name,
            description=attachment.description,
        )
    return attachment
