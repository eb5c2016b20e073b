"""What each role may do (Django permissions) and at which area levels it is held.

This table is the source of truth: on every `migrate` each role's group is set
to exactly these permissions, and the authorization test walks every URL as
every role against it. Change a role's rights here, in review, not in a
database.
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from relief.choices import AreaLevel, Role

VIEW_REGISTRY = {"recipients.view_household", "recipients.view_person"}
EDIT_REGISTRY = {
    "recipients.add_household",
    "recipients.change_household",
    "recipients.add_person",
    "recipients.change_person",
    "recipients.delete_person",
}
VIEW_ADMINISTRATION = {
    "relief.view_area",
    "relief.view_user",
    "relief.view_roleassignment",
    "relief.view_auditevent",
}
ADMINISTRATION = VIEW_ADMINISTRATION | {
    "relief.add_area",
    "relief.change_area",
    "relief.add_user",
    "relief.change_user",
    "relief.add_roleassignment",
    "relief.delete_roleassignment",
}

# Every role reads the campaigns that concern its area (their standards are public).
VIEW_CAMPAIGNS = {"campaigns.view_campaign"}
# Setting up a campaign: its phases, fund sources, categories and standards.
SET_UP_CAMPAIGNS = VIEW_CAMPAIGNS | {
    "campaigns.add_campaign",
    "campaigns.change_campaign",
    "campaigns.add_evidencefield",
    "campaigns.change_campaignkind",
}

# The application workflow (applications.workflow): reading, entering, and the
# decision each role takes at its stage.
VIEW_APPLICATIONS = {
    "applications.view_application",
    "applications.view_notice",
    "applications.view_objection",
    "applications.view_attachment",
    "applications.view_appraisalmeeting",
}
ENTER_APPLICATIONS = {
    "applications.add_application",
    "applications.change_application",
    "applications.add_attachment",
}

# Disbursement (disbursements.services): reading payments and their evidence,
# and what each role does with them.
VIEW_PAYMENTS = {
    "disbursements.view_payment",
    "disbursements.view_proxyexception",
    "disbursements.view_sheetscan",
    "disbursements.view_villageclosing",
}
HAND_OVER = {"disbursements.hand_over_payment", "disbursements.add_proxyexception"}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    # Village clerks enter applications and record the village appraisal.
    Role.VILLAGE_CLERK: frozenset(
        VIEW_REGISTRY
        | EDIT_REGISTRY
        | VIEW_CAMPAIGNS
        | VIEW_APPLICATIONS
        | ENTER_APPLICATIONS
        | {"applications.appraise_application"}
        # The visiting team (上户干部) hands over and takes the receipts.
        | VIEW_PAYMENTS
        | HAND_OVER
    ),
    # The township office enters too, and takes the first review (初审).
    Role.TOWNSHIP_CLERK: frozenset(
        VIEW_REGISTRY
        | EDIT_REGISTRY
        | VIEW_CAMPAIGNS
        | VIEW_APPLICATIONS
        | ENTER_APPLICATIONS
        | {
            "applications.appraise_application",
            "applications.review_application",
            "applications.add_objection",
        }
        # It plans the payments, prints the sheets, goes on visits and files
        # the scans of the signed sheets.
        | VIEW_PAYMENTS
        | HAND_OVER
        | {"disbursements.add_payment", "disbursements.add_sheetscan"}
    ),
    # The leadership: second review (复审), notices, objections, approval.
    Role.TOWNSHIP_SUPERVISOR: frozenset(
        VIEW_REGISTRY
        | VIEW_CAMPAIGNS
        | VIEW_APPLICATIONS
        | {
            "applications.second_review_application",
            "applications.add_notice",
            "applications.add_objection",
            "applications.change_objection",
            "applications.approve_application",
            "applications.add_recusal",
            "applications.add_attachment",
        }
        # Collection by a proxy (代领) needs the leadership's approval.
        | VIEW_PAYMENTS
        | {"disbursements.approve_proxy", "disbursements.verify_ledger"}
    ),
    # The finance office pays (bank transfers too), books the signed sheets,
    # closes villages and corrects signed records by reversal.
    Role.FINANCE_OFFICER: frozenset(
        VIEW_REGISTRY
        | VIEW_CAMPAIGNS
        | VIEW_APPLICATIONS
        | VIEW_PAYMENTS
        | {
            "disbursements.add_payment",
            "disbursements.hand_over_payment",
            "disbursements.add_sheetscan",
            "disbursements.book_payment",
            "disbursements.correct_payment",
            "disbursements.verify_ledger",
        }
    ),
    Role.COUNTY_APPROVER: frozenset(
        VIEW_REGISTRY
        | VIEW_CAMPAIGNS
        | VIEW_APPLICATIONS
        | VIEW_PAYMENTS
        | {"applications.county_approve_application", "applications.add_attachment"}
    ),
    # Auditors read everything in their area, verify signed ledgers, change nothing.
    Role.AUDITOR: frozenset(
        VIEW_REGISTRY
        | VIEW_ADMINISTRATION
        | VIEW_CAMPAIGNS
        | VIEW_APPLICATIONS
        | VIEW_PAYMENTS
        | {"disbursements.verify_ledger"}
    ),
    # Administrators set up areas, accounts and campaigns (domain.md §1); they
    # need no residents' data.
    Role.ADMINISTRATOR: frozenset(ADMINISTRATION | SET_UP_CAMPAIGNS),
}

_ABOVE_VILLAGE = frozenset(
    {AreaLevel.PROVINCE, AreaLevel.CITY, AreaLevel.COUNTY, AreaLevel.TOWNSHIP}
)
ROLE_LEVELS: dict[str, frozenset[str]] = {
    Role.VILLAGE_CLERK: frozenset({AreaLevel.VILLAGE}),
    Role.TOWNSHIP_CLERK: frozenset({AreaLevel.TOWNSHIP}),
    Role.TOWNSHIP_SUPERVISOR: frozenset({AreaLevel.TOWNSHIP}),
    Role.FINANCE_OFFICER: frozenset({AreaLevel.TOWNSHIP}),
    Role.COUNTY_APPROVER: frozenset({AreaLevel.COUNTY}),
    Role.AUDITOR: _ABOVE_VILLAGE,
    Role.ADMINISTRATOR: _ABOVE_VILLAGE,
}


def sync_role_groups(sender: AppConfig | None = None, **kwargs: Any) -> None:
    """Make each role's group hold exactly the permissions above.

    Connected to post_migrate, which Django sends once per app after every
    migrate (and every test-database flush); it acts only on the last app's
    signal, when every app's permissions have been created.
    """
    with_models = [config for config in apps.get_app_configs() if config.models_module]
    if sender is not None and sender is not with_models[-1]:
        return
    wanted = set().union(*ROLE_PERMISSIONS.values())
    query = Q(pk__in=[])
    for perm in wanted:
        app_label, codename = perm.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    existing = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.filter(query).select_related("content_type")
    }
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.set([existing[p] for p in perms if p in existing])
