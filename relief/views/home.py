from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from recipients.models import Household
from relief.access import signed_in
from relief.models import RoleAssignment
from relief.overview import overview, since_for


@signed_in
def home(request: HttpRequest) -> HttpResponse:
    """The overview after login: what waits for the user, what is due, what
    changed since their previous visit; then their roles and where to start."""
    user = request.user
    roles = RoleAssignment.objects.filter(user=user).select_related("area__parent")
    households = None
    if user.has_perm("recipients.view_household"):
        households = Household.objects.restrict(user, "view").count()
    return render(
        request,
        "home.html",
        {
            "roles": roles,
            "household_count": households,
            "overview": overview(user, since_for(user)),
        },
    )
