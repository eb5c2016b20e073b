"""Who may open a view: every view the project routes declares one decision.

    @public                 anyone, signed in or not (login page, language switch)
    @signed_in              any signed-in user
    @requires("app.perm")   a signed-in user one of whose roles holds the permission
                            somewhere; which records they then see is up to the
                            view's queryset, which goes through `restrict()`

No permission anywhere is 403. A record outside the user's areas is 404 (the
view's restricted queryset does not find it), so a URL does not reveal what
exists elsewhere. tests/test_authorization.py walks every URL as every role and
fails for a view without a decision.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

View = Callable[..., HttpResponse]


def public(view: View) -> View:
    view.access = "public"
    return view


def signed_in(view: View) -> View:
    wrapped = login_required(view)
    wrapped.access = "signed-in"
    return wrapped


def requires(perm: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.has_perm(perm):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped = login_required(checked)
        wrapped.access = f"requires {perm}"
        return wrapped

    return decorator
