"""Settings come from environment variables, strictly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from relief.env import database_from_url, env_bool, env_int, env_list

ROOT = Path(__file__).resolve().parents[2]


def test_it_reads_booleans_in_the_usual_spellings(monkeypatch):
    for raw, expected in [("1", True), ("TRUE", True), ("yes", True), ("off", False), ("0", False)]:
        monkeypatch.setenv("X_FLAG", raw)
        assert env_bool("X_FLAG", not expected) is expected
    monkeypatch.setenv("X_FLAG", "  ")
    assert env_bool("X_FLAG", True) is True  # blank means unset


def test_it_refuses_a_malformed_boolean(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG='maybe' is not a boolean"):
        env_bool("X_FLAG", False)


def test_it_refuses_a_malformed_or_too_small_number(monkeypatch):
    monkeypatch.setenv("X_NUM", "12a")
    with pytest.raises(ImproperlyConfigured, match="X_NUM='12a' is not a whole number"):
        env_int("X_NUM", 1)
    monkeypatch.setenv("X_NUM", "0")
    with pytest.raises(ImproperlyConfigured, match="the least allowed is 1"):
        env_int("X_NUM", 5, minimum=1)


def test_it_splits_lists_on_commas(monkeypatch):
    monkeypatch.setenv("X_LIST", "a.example, b.example,,")
    assert env_list("X_LIST", []) == ["a.example", "b.example"]


def test_it_reads_database_urls():
    pg = database_from_url(
        "postgres://relief:s%40cret@db.internal:6432/relief?sslmode=require", base_dir=ROOT
    )
    assert pg["ENGINE"] == "django.db.backends.postgresql"
    assert (pg["NAME"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"]) == (
        "relief",
        "relief",
        "s@cret",
        "db.internal",
        "6432",
    )
    assert pg["OPTIONS"] == {"sslmode": "require", "options": "-c jit=off"}
    assert database_from_url("sqlite:///db.sqlite3", base_dir=ROOT)["NAME"] == ROOT / "db.sqlite3"
    assert database_from_url("sqlite:////var/lib/x.db", base_dir=ROOT)["NAME"] == Path(
        "/var/lib/x.db"
    )


def test_it_leaves_postgres_options_to_a_url_that_sets_them():
    def options(query: str) -> dict[str, str]:
        return database_from_url(f"postgres://h/relief?{query}", base_dir=ROOT)["OPTIONS"]

    assert options("options=-c%20work_mem%3D64MB") == {"options": "-c work_mem=64MB"}
    # Empty: no startup options at all (a pooler may refuse them); the server decides.
    assert options("options=&sslmode=disable") == {"sslmode": "disable"}


@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://root@localhost/relief", "unsupported scheme"),
        ("postgres://localhost:99999999/relief", "malformed port"),
        ("postgres://localhost/", "names no database"),
        ("sqlite://", "names no SQLite file"),
    ],
)
def test_it_refuses_malformed_database_urls(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        database_from_url(url, base_dir=ROOT)


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEBUG"))}
    clean.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_stops_start_up_with_a_clear_message_for_a_bad_variable():
    result = _manage("check", DEBUG="maybe")
    assert result.returncode == 2
    assert "error: configuration: DEBUG='maybe' is not a boolean" in result.stderr
    assert "Traceback" not in result.stderr


def test_it_requires_a_secret_key_and_hosts_in_production():
    result = _manage("check", DEBUG="0", ALLOWED_HOSTS="relief.example")
    assert result.returncode == 2
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr
    result = _manage("check", DEBUG="0", SECRET_KEY="x" * 60)
    assert result.returncode == 2
    assert "ALLOWED_HOSTS must be set when DEBUG is off" in result.stderr


def test_it_passes_the_deployment_checklist_in_production():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="k3y-" + "0123456789abcdefghijklmnopqrstuvwxyz" * 2,
        ALLOWED_HOSTS="relief.example",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
