"""待我审核: which applications wait for a user's step. Shared by the
campaign's queue (applications.views) and the overview after sign-in
(relief.overview), so both count the same applications."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from applications import workflow
from applications.choices import State
from applications.models import Application
from relief.areacodes import level_of
from relief.choices import AreaLevel
from relief.models import Area, User
from relief.scoping import grants, role_permissions


def my_work(user: User, applications: QuerySet[Application]) -> QuerySet[Application]:
    """待我审核: the applications waiting at a stage where the user acts, in the
    areas where they act there. The appraisal is the village's work: a township
    clerk may record one for a village, but it is not in their queue."""
    wanted = Q(pk__in=[])
    for stage, perm in workflow.STAGE_PERM.items():
        if stage == State.DRAFT or not user.has_perm(perm):
            continue
        areas = Area.objects.restrict(user, perm=perm)
        if stage == State.SUBMITTED and not user.is_superuser:
            held = role_permissions(user)
            areas = areas.filter(
                pk__in=[
                    g.area_id
                    for g in grants(user)
                    if perm in held.get(g.role, ()) and level_of(g.area_code) == AreaLevel.VILLAGE
                ]
            )
        at = Q(state=stage) | Q(state=State.RETURNED, returned_to=stage)
        wanted |= at & Q(village__in=areas.values("pk"))
    return applications.filter(wanted)
