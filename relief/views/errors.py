"""The server-error page, which tells what the user can wait out or report
(the database went away, the disk is full) from a fault of the application."""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template.loader import render_to_string
from django.views.decorators.csrf import requires_csrf_token

from relief.storage import no_room

# Seconds a client (or a proxy) should wait before trying again.
RETRY_AFTER = 10


def database_gone(error: BaseException | None) -> bool:
    """Is this the database being unavailable, not a bug? A broken connection
    is; so is PostgreSQL's OperationalError (the server's state). SQLite raises
    OperationalError for bugs too ("no such table"): there only a file busy
    past its timeout or unreadable counts."""
    if isinstance(error, InterfaceError):
        return True  # the connection itself is closed or broken
    if not isinstance(error, OperationalError):
        return False
    if connection.vendor == "sqlite":
        return any(sign in str(error) for sign in ("locked", "unable to open", "disk I/O"))
    return True


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """handler500, called for an exception from any middleware as well as from
    the view. A request that failed because the database is not answering gets
    503, Retry-After and a page saying nothing was saved (its transaction never
    committed); Django opens a new connection on the next request. A write the
    disk had no room for gets 507 and a page saying so. The pages render
    without the request: no query of their own."""
    error = sys.exc_info()[1]
    if database_gone(error):
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER)
        return response
    if no_room(error):
        # The view's transaction rolled back with the exception and
        # MediaStorage removed the file cut short: nothing was saved.
        return HttpResponse(render_to_string("507.html"), status=507)
    return HttpResponseServerError(render_to_string("500.html"))
