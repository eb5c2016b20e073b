"""The server-error page: the database not answering is a 503 that says
nothing was saved and when to try again; anything else stays a 500."""

from __future__ import annotations

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import InterfaceError, OperationalError, connection
from django.urls import reverse

# What each database says when it has gone away or is busy past its timeout.
GONE = (
    "database is locked"
    if connection.vendor == "sqlite"
    else "server closed the connection unexpectedly"
)


@pytest.fixture
def signed_in(client, people):
    client.force_login(people.clerk_a)
    client.raise_request_exception = False
    return client


def test_a_database_gone_in_the_view_is_a_503_saying_nothing_was_saved(signed_in, monkeypatch):
    def gone(*args, **kwargs):
        raise OperationalError(GONE)

    monkeypatch.setattr("relief.views.home.overview", gone)
    response = signed_in.get(reverse("home"))
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    page = response.content.decode()
    assert "数据库没有响应" in page and "没有保存" in page
    assert GONE not in page  # the driver's words go to the log only


def test_a_database_gone_before_the_view_is_a_503_too(signed_in, monkeypatch):
    # The session is read by middleware, before any view runs.
    def gone(self):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(SessionStore, "load", gone)
    response = signed_in.get(reverse("home"))
    assert response.status_code == 503
    assert "数据库没有响应" in response.content.decode()


def test_a_bug_stays_a_500(signed_in, monkeypatch):
    # SQLite says OperationalError for a missing table too; PostgreSQL says
    # ProgrammingError there, and OperationalError only for the server's state.
    def bug(*args, **kwargs):
        raise OperationalError("no such table: relief_missing")

    monkeypatch.setattr("relief.views.home.overview", bug)
    response = signed_in.get(reverse("home"))
    expected = 500 if connection.vendor == "sqlite" else 503
    assert response.status_code == expected
    monkeypatch.setattr("relief.views.home.overview", lambda *a, **k: 1 / 0)
    response = signed_in.get(reverse("home"))
    assert response.status_code == 500
    assert "Retry-After" not in response
    assert "系统出错" in response.content.decode()
