"""Security hardening: the Content-Security-Policy and the templates that keep
to it, the other security headers and cookies, and the audit of signing in
and out and of downloads."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from relief import jobs
from relief.models import AuditEvent, Job
from reports import charts
from tests.applications.conftest import campaign  # noqa: F401  (a fixture)
from tests.applications.roster.conftest import uploaded

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
LOGIN = reverse("login")

# Templates that WeasyPrint lays out as PDF (documents.pdf.render_pdf) and no
# view ever sends to a browser: their <style> elements carry the print layout
# and the Content-Security-Policy never applies to them.
# test_the_pdf_templates_are_only_rendered_to_pdf keeps this list honest.
PDF_ONLY = {
    "documents/notice.html",  # documents.notice.render_notice
    "documents/payment_sheet.html",  # documents.payment_sheet.render_payment_sheet
    "reports/summary.html",  # reports.summary.render_summary_pdf
}
APPS = [
    "applications",
    "campaigns",
    "disbursements",
    "documents",
    "recipients",
    "relief",
    "reports",
]


# -- the Content-Security-Policy ----------------------------------------------------


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def test_a_signed_in_page_carries_a_policy_without_inline_code_or_eval(client, people):
    client.force_login(people.clerk_a)
    response = client.get(reverse("recipients:household_list"))
    assert response.status_code == 200
    header = response["Content-Security-Policy"]
    policy = directives(header)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in header
    assert "'unsafe-eval'" not in header
    assert "Content-Security-Policy-Report-Only" not in response


def test_the_login_page_and_a_refusal_carry_the_policy_too(client, people):
    assert "script-src 'self'" in client.get(LOGIN)["Content-Security-Policy"]
    client.force_login(people.clerk_a)
    refused = client.get(reverse("user_list"))  # a village clerk manages no accounts
    assert refused.status_code == 403
    assert "script-src 'self'" in refused["Content-Security-Policy"]


class InlineCode(HTMLParser):
    """Collects what a strict Content-Security-Policy blocks in a page:
    <script> without src, <style> elements, style= and on*= attributes,
    javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _value in attrs}
        if tag == "script" and "src" not in names:
            self.found.append(f"<script> without src at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"<style> element at line {self.getpos()[0]}")
        for name, value in attrs:
            where = f"<{tag} {name}=…> at line {self.getpos()[0]}"
            if name == "style":
                self.found.append(f"style attribute {where}")
            elif name.startswith("on"):
                self.found.append(f"event-handler attribute {where}")
            elif value and re.sub(r"\s", "", value).lower().startswith("javascript:"):
                self.found.append(f"javascript: URL {where}")

    handle_startendtag = handle_starttag


# {% … %}, {{ … }} and {# … #}: replaced by a blank so the markup around them parses.
TEMPLATE_SYNTAX = re.compile(r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}", re.DOTALL)


def inline_code(markup: str) -> list[str]:
    parser = InlineCode()
    parser.feed(TEMPLATE_SYNTAX.sub(" ", markup))
    parser.close()
    found = parser.found
    if re.search(r"javascript\s*:", markup, re.IGNORECASE):
        found.append("javascript: in the text")
    return found


def served_templates() -> list[str]:
    names = sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html"))
    return [name for name in names if name not in PDF_ONLY]


def test_the_scanner_finds_each_kind_of_inline_code():
    page = """{% load static %}<html><head><style>p{}</style>
      <script>alert(1)</script><script src="{% static 'x.js' %}"></script></head>
      <body><p style="color:red">x</p><button onclick="go()">go</button>
      <svg><rect onload="x()"/></svg><a href=" JavaScript:go()">go</a>
      <div{% if a %} style="{{ s }}"{% endif %}></div></body></html>"""
    found = inline_code(page)
    assert len(found) == 8, found
    assert inline_code('<script src="/static/x.js" defer></script><p class="x">y</p>') == []


def test_no_template_served_to_browsers_holds_inline_code():
    names = served_templates()
    assert len(names) > 50  # the scan found the templates
    found = {name: inline_code((TEMPLATES / name).read_text()) for name in names}
    assert {name: problems for name, problems in found.items() if problems} == {}


def test_the_pdf_templates_are_only_rendered_to_pdf():
    """Every mention of a PDF-only template in the application's code is the
    template of a render_pdf call, and no template includes or extends one."""
    sources = {p: p.read_text() for app in APPS for p in (ROOT / app).rglob("*.py")}
    for name in PDF_ONLY:
        assert (TEMPLATES / name).exists(), name
        quoted = re.compile(rf"[\"']{re.escape(name)}[\"']")
        as_pdf = re.compile(rf"render_pdf\(\s*[\"']{re.escape(name)}[\"']")
        mentions = sum(len(quoted.findall(text)) for text in sources.values())
        rendered = sum(len(as_pdf.findall(text)) for text in sources.values())
        assert mentions == rendered == 1, name
        for other in served_templates():
            assert name not in (TEMPLATES / other).read_text(), (other, name)


def test_the_charts_use_presentation_attributes_only():
    rows = [("东关村", Decimal(1200), "1,200"), ("西关村", Decimal(300), "300")]
    bars = charts.bars("发放金额", rows)
    names = ["甲", "乙", "丙", "丁"]
    series = [charts.Series(n, style) for n, style in zip(names, charts.STYLES, strict=True)]
    stacked = charts.stacked("进度", series, [("东关村", [1, 2, 3, 4], "10")])
    for svg in (bars, stacked):
        assert "<rect" in svg and 'fill="' in svg  # drawn, with fill= attributes
        assert inline_code(svg) == []


# -- other security headers and cookies ------------------------------------------


def test_pages_carry_the_other_security_headers(client, people):
    client.force_login(people.clerk_a)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    features = dict(
        part.strip().split("=", 1) for part in response["Permissions-Policy"].split(",")
    )
    assert features == {"camera": "()", "microphone": "()", "geolocation": "()"}


def test_no_page_asks_for_the_camera_through_the_browser():
    """camera=() is right only while no script opens the camera itself (the
    receipt photo goes through <input capture>, which the policy does not govern)."""
    scripts = [p for p in (ROOT / "static" / "js").rglob("*.js")]
    assert scripts
    for script in scripts:
        assert "getUserMedia" not in script.read_text(), script


def test_the_session_cookie_is_kept_from_scripts(client, people):
    people.clerk_a.set_password("Correct-horse-9")
    people.clerk_a.save()
    response = client.post(LOGIN, {"username": "clerk_a", "password": "Correct-horse-9"})
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie.value and cookie["httponly"]


def test_production_sends_cookies_over_https_only_with_hsts():
    """The settings with DEBUG off, read by a fresh process."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEBUG"))}
    clean.pop("DATABASE_URL", None)
    names = [
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
    ]
    code = (
        "from django.conf import settings; import json; "
        "print(json.dumps({n: getattr(settings, n) for n in %r}))"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code % names],
        cwd=ROOT,
        env={
            **clean,
            "DEBUG": "0",
            "SECRET_KEY": "k3y-" + "0123456789abcdefghijklmnopqrstuvwxyz" * 2,
            "ALLOWED_HOSTS": "relief.example",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
    }


# -- audit of signing in and out ----------------------------------------------------

ADDRESS = "203.0.113.7"  # documentation range (RFC 5737)


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def test_a_sign_in_through_the_form_is_audited_with_the_address(client, people):
    people.clerk_a.set_password("Correct-horse-9")
    people.clerk_a.save()
    response = client.post(
        LOGIN, {"username": "clerk_a", "password": "Correct-horse-9"}, REMOTE_ADDR=ADDRESS
    )
    assert response.status_code == 302
    [event] = events("user.login")
    assert event.actor == people.clerk_a
    assert event.target_id == str(people.clerk_a.pk)
    assert event.area == people.clerk_a.area  # seen by the auditors of the account's area
    assert event.data == {"ip": ADDRESS}
    assert not events("user.login_failed")


def test_a_failed_sign_in_is_audited_without_the_password(client, people):
    secret = "Wrong-but-close-9"
    response = client.post(LOGIN, {"username": "clerk_a", "password": secret}, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 200
    [event] = events("user.login_failed")
    assert event.actor is None
    assert event.target_id == str(people.clerk_a.pk)
    assert event.data == {"username": "clerk_a", "ip": ADDRESS, "locked_out": False}
    stored = json.dumps(
        [event.data, event.reason, event.from_state, event.to_state, event.target_repr],
        ensure_ascii=False,
    )
    assert secret not in stored
    assert "*****" not in stored  # not even Django's masked copy
    assert not events("user.login")


def test_a_failed_sign_in_under_an_unknown_name_keeps_the_name(client, people):
    client.post(LOGIN, {"username": "nosuchuser", "password": "Anything-9"}, REMOTE_ADDR=ADDRESS)
    [event] = events("user.login_failed")
    assert (event.target_id, event.area) == ("", None)
    assert event.data["username"] == "nosuchuser"
    assert "Anything-9" not in json.dumps(event.data)


def test_the_attempt_that_locks_a_name_out_is_marked(client, people, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(LOGIN, {"username": "clerk_a", "password": "wrong"}, REMOTE_ADDR=ADDRESS)
    flags = [e.data["locked_out"] for e in events("user.login_failed")]
    assert flags == [False] * (settings.AXES_FAILURE_LIMIT - 1) + [True]


def test_a_sign_out_is_audited(client, people):
    client.force_login(people.clerk_a)
    response = client.post(reverse("logout"), REMOTE_ADDR=ADDRESS)
    assert response.status_code == 302
    [event] = events("user.logout")
    assert event.actor == people.clerk_a
    assert event.data == {"ip": ADDRESS}


def test_signing_in_and_out_is_not_listed_as_a_change(client, people):
    from django.utils import timezone

    from relief.overview import overview

    since = timezone.now()
    people.clerk_a.set_password("Correct-horse-9")
    people.clerk_a.save()
    client.post(LOGIN, {"username": "clerk_a", "password": "Correct-horse-9"})
    client.post(reverse("logout"))
    client.post(LOGIN, {"username": "clerk_a", "password": "wrong"})
    assert AuditEvent.objects.filter(at__gt=since).count() == 3
    for watcher in (people.auditor, people.admin):
        assert overview(watcher, since).changes_total == 0


# -- audit of downloads ---------------------------------------------------------------


@jobs.handler("test.security_export")
def _export(job: Job, progress: jobs.Progress) -> jobs.Output:
    return jobs.Output(name="名单.pdf", content=b"%PDF-1.7 names and ID numbers")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_a_job_download_is_audited(client, people, media):
    job = jobs.start(people.clerk_a, "test.security_export", "名单", {}, background=False)
    client.force_login(people.clerk_a)
    response = client.get(reverse("job_download", args=[job.pk]), REMOTE_ADDR=ADDRESS)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    [event] = events("job.download")
    assert event.actor == people.clerk_a
    assert event.target_id == str(job.pk)
    assert event.area == people.clerk_a.area
    assert event.data == {"kind": "test.security_export", "file": "名单.pdf"}


def test_a_refused_job_download_is_not_audited(client, people, media):
    job = jobs.start(people.clerk_a, "test.security_export", "名单", {}, background=False)
    client.force_login(people.clerk_b)
    assert client.get(reverse("job_download", args=[job.pk])).status_code == 404
    assert not events("job.download")


def test_a_roster_result_download_is_audited(client, people, campaign, media):  # noqa: F811
    from applications.roster.models import RosterImport

    client.force_login(people.township_clerk)
    upload = reverse("applications:roster_upload", args=[campaign.pk])
    assert client.post(upload, {"file": uploaded("duplicates_db.xlsx")}).status_code == 302
    roster = RosterImport.objects.get()
    response = client.get(reverse("applications:roster_result", args=[roster.pk]))
    assert response.status_code == 200
    [event] = events("document.roster_result")
    assert event.actor == people.township_clerk
    assert event.target_id == str(roster.pk)
    assert event.area == campaign.area
    assert event.data["file"].endswith(".xlsx") and event.data["rows"] > 1


def test_behind_the_proxy_a_lockout_holds_only_the_guessers_address(client, people, settings):
    # BEHIND_PROXY=1: every request comes from nginx (127.0.0.1) and the client's
    # address is in X-Forwarded-For, whose last entry nginx wrote.
    settings.AXES_CLIENT_IP_CALLABLE = "relief.auth.forwarded_ip"
    people.clerk_a.set_password("Correct-horse-9")
    people.clerk_a.save()
    guesser = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 203.0.113.9"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(LOGIN, {"username": "clerk_a", "password": "wrong"}, **guesser)
    assert {e.data["ip"] for e in events("user.login_failed")} == {"203.0.113.9"}
    # The clerk at her own desk, through the same proxy, still signs in.
    desk = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    response = client.post(LOGIN, {"username": "clerk_a", "password": "Correct-horse-9"}, **desk)
    assert response.status_code == 302
    assert events("user.login")[-1].data == {"ip": "198.51.100.7"}
    # The guesser stays locked out, even with the right password.
    client.logout()
    response = client.post(LOGIN, {"username": "clerk_a", "password": "Correct-horse-9"}, **guesser)
    assert response.status_code != 302
