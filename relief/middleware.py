"""Request middleware of the shared kernel."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

Handler = Callable[[HttpRequest], HttpResponse]


class LanguageMiddleware:
    """Simplified Chinese unless the user chose another language.

    Django's LocaleMiddleware would follow the browser's Accept-Language, so an
    office PC with an English browser would get English pages. Here only the
    user's explicit choice (the language cookie set by the switcher) counts.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.available = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.available else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class IdleSessionMiddleware:
    """End a session after SESSION_COOKIE_AGE seconds without a request.

    The session's expiry is pushed forward at most once a minute, rather than
    writing the session row on every request as SESSION_SAVE_EVERY_REQUEST would.
    """

    REFRESH_AFTER = 60  # seconds

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and request.user.is_authenticated:
            now = int(time.time())
            if now - session.get("_refreshed", 0) >= self.REFRESH_AFTER:
                session["_refreshed"] = now  # marks the session modified: saved with a new expiry
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """The Permissions-Policy header from settings.PERMISSIONS_POLICY, a dict of
    feature -> allowed origins: {"camera": []} gives `camera=()` (off for the
    page and everything in it), {"camera": ["self"]} gives `camera=(self)`.
    Django's SecurityMiddleware has no setting for this header."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        policy: dict[str, list[str]] = getattr(settings, "PERMISSIONS_POLICY", {})
        self.header = ", ".join(
            f"{feature}=({' '.join(origins)})" for feature, origins in policy.items()
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response
