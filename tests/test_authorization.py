"""Every URL the project defines, opened as every persona: who gets what.

Adding a URL without adding it to EXPECTED fails `test_every_url_has_a_decision`;
adding a view without an access decorator (relief.access) fails
`test_every_view_declares_its_access`. Objects belong to village A (东关村,
township T1), so the personas of village B and township T2 must be refused.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from applications import services
from applications.roster import services as roster_services
from disbursements import signing
from relief.models import Area, Job

PERSONAS = [
    "anonymous",
    "clerk_a",
    "clerk_b",
    "township_clerk",
    "township_clerk_t2",
    "supervisor",
    "finance",
    "approver",
    "auditor",
    "admin",
    "admin_t2",
    "nobody",
    "superuser",
]
SIGNED_IN = PERSONAS[1:]
REGISTRY_READERS = {
    "clerk_a",
    "clerk_b",
    "township_clerk",
    "township_clerk_t2",
    "supervisor",
    "finance",
    "approver",
    "auditor",
    "superuser",
}
REGISTRY_WRITERS = {"clerk_a", "clerk_b", "township_clerk", "township_clerk_t2", "superuser"}
ADMINISTRATORS = {"admin", "admin_t2", "superuser"}
ADMIN_READERS = ADMINISTRATORS | {"auditor"}
CAMPAIGN_READERS = REGISTRY_READERS | ADMINISTRATORS
APPLICATION_READERS = REGISTRY_READERS  # administrators need no residents' data
ENTERERS = REGISTRY_WRITERS
APPRAISERS = REGISTRY_WRITERS
OBJECTION_RECORDERS = {"township_clerk", "township_clerk_t2", "supervisor", "superuser"}
SUPERVISORS = {"supervisor", "superuser"}
ATTACHERS = REGISTRY_WRITERS | {"supervisor", "approver"}
CAMPAIGN_WIDE = {"township_clerk", "supervisor", "finance", "approver", "auditor", "superuser"}
LEDGER_VERIFIERS = {"supervisor", "finance", "auditor", "superuser"}
PAYMENT_READERS = APPLICATION_READERS
PLANNERS = {"township_clerk", "township_clerk_t2", "finance", "superuser"}
HANDERS = {"clerk_a", "clerk_b", "township_clerk", "township_clerk_t2", "finance", "superuser"}
PROXY_ASKERS = {"clerk_a", "clerk_b", "township_clerk", "township_clerk_t2", "superuser"}
BOOKERS = {"finance", "superuser"}


def rule(
    allowed: set[str],
    *,
    ok: int = 200,
    outside: set[str] = frozenset(),
    others: int = 403,
    anonymous: int = 302,
) -> dict[str, int]:
    """Expected status per persona: `allowed` get `ok`, those of them whose area
    does not hold the object get 404, signed-in others `others`."""
    expected = {"anonymous": anonymous}
    for persona in SIGNED_IN:
        if persona in outside:
            expected[persona] = 404
        elif persona in allowed:
            expected[persona] = ok
        else:
            expected[persona] = others
    return expected


OUTSIDE_A = {"clerk_b", "township_clerk_t2"}  # registry personas who do not reach village A
OUTSIDE_A_ADMIN = {"admin_t2"}  # administrators who do not reach village A
# The campaign is township T1's: its villages' clerks see it from below, the
# county sees it from above, township T2 does not see it at all.
OUTSIDE_T1 = {"township_clerk_t2", "admin_t2"}

# url name -> (arguments, expected status per persona) for a GET.
EXPECTED: dict[str, tuple[Callable[[SimpleNamespace], list], dict[str, int]]] = {
    "home": (lambda o: [], rule(set(SIGNED_IN))),
    "health": (lambda o: [], rule(set(SIGNED_IN), anonymous=200)),  # public probe
    "login": (lambda o: [], rule(set(), others=302, anonymous=200)),
    "logout": (lambda o: [], rule(set(), others=405, anonymous=405)),  # POST only
    "password_change": (lambda o: [], rule(set(SIGNED_IN))),
    "password_change_done": (lambda o: [], rule(set(SIGNED_IN))),
    "set_language": (lambda o: [], rule(set(), others=302, anonymous=302)),  # redirects back
    "area_list": (lambda o: [], rule(ADMIN_READERS)),
    "area_create": (lambda o: [], rule(ADMINISTRATORS)),
    "area_import": (lambda o: [], rule(ADMINISTRATORS)),
    "area_edit": (lambda o: [o.area.pk], rule(ADMINISTRATORS, outside=OUTSIDE_A_ADMIN)),
    "user_list": (lambda o: [], rule(ADMIN_READERS)),
    "user_create": (lambda o: [], rule(ADMINISTRATORS)),
    "user_detail": (lambda o: [o.user.pk], rule(ADMIN_READERS, outside=OUTSIDE_A_ADMIN)),
    "user_edit": (lambda o: [o.user.pk], rule(ADMINISTRATORS, outside=OUTSIDE_A_ADMIN)),
    "user_password": (lambda o: [o.user.pk], rule(ADMINISTRATORS, outside=OUTSIDE_A_ADMIN)),
    "role_grant": (lambda o: [o.user.pk], rule(ADMINISTRATORS, ok=405)),  # POST only
    "role_revoke": (lambda o: [o.role.pk], rule(ADMINISTRATORS, ok=405)),  # POST only
    "recipients:household_list": (lambda o: [], rule(REGISTRY_READERS)),
    "recipients:household_create": (lambda o: [], rule(REGISTRY_WRITERS)),
    "recipients:household_detail": (
        lambda o: [o.household.pk],
        rule(REGISTRY_READERS, outside=OUTSIDE_A),
    ),
    "recipients:household_edit": (
        lambda o: [o.household.pk],
        rule(REGISTRY_WRITERS, outside=OUTSIDE_A),
    ),
    "recipients:check_id_number": (lambda o: [], rule(REGISTRY_WRITERS)),
    "campaigns:campaign_list": (lambda o: [], rule(CAMPAIGN_READERS)),
    "campaigns:campaign_create": (lambda o: [], rule(ADMINISTRATORS)),
    "campaigns:campaign_detail": (
        lambda o: [o.campaign.pk],
        rule(CAMPAIGN_READERS, outside=OUTSIDE_T1),
    ),
    "campaigns:campaign_edit": (
        lambda o: [o.campaign.pk],
        rule(ADMINISTRATORS, outside=OUTSIDE_A_ADMIN),
    ),
    "campaigns:campaign_schedule": (
        lambda o: [o.campaign.pk],
        rule(ADMINISTRATORS, outside=OUTSIDE_A_ADMIN),
    ),
    "campaigns:campaign_funds": (
        lambda o: [o.campaign.pk],
        rule(ADMINISTRATORS, outside=OUTSIDE_A_ADMIN),
    ),
    "campaigns:campaign_status": (lambda o: [o.campaign.pk], rule(ADMINISTRATORS, ok=405)),
    "campaigns:campaign_copy": (lambda o: [o.campaign.pk], rule(ADMINISTRATORS, ok=405)),
    "campaigns:category_create": (
        lambda o: [o.campaign.pk],
        rule(ADMINISTRATORS, outside=OUTSIDE_A_ADMIN),
    ),
    "campaigns:category_edit": (
        lambda o: [o.campaign.pk, o.category.pk],
        rule(ADMINISTRATORS, outside=OUTSIDE_A_ADMIN),
    ),
    "campaigns:category_delete": (
        lambda o: [o.campaign.pk, o.category.pk],
        rule(ADMINISTRATORS, ok=405),
    ),
    "campaigns:category_try": (
        lambda o: [o.campaign.pk, o.category.pk],
        rule(CAMPAIGN_READERS, outside=OUTSIDE_T1),
    ),
    "campaigns:evidence_fields": (lambda o: [], rule(CAMPAIGN_READERS)),
    "campaigns:kind_list": (lambda o: [], rule(CAMPAIGN_READERS)),
    "campaigns:kind_limit": (lambda o: [o.campaign.kind.pk], rule(ADMINISTRATORS, ok=405)),
    # The application (village A) is in the public notice of township T1.
    "applications:queue": (
        lambda o: [o.open_campaign.pk],
        rule(APPLICATION_READERS, outside={"township_clerk_t2"}),
    ),
    "applications:entry": (
        lambda o: [o.open_campaign.pk],
        rule(ENTERERS, outside={"township_clerk_t2"}),
    ),
    "applications:bulk": (lambda o: [o.open_campaign.pk], rule(APPLICATION_READERS, ok=405)),
    "applications:appraisal": (
        lambda o: [o.open_campaign.pk],
        rule(APPRAISERS, outside={"township_clerk_t2"}),
    ),
    "applications:notice_create": (lambda o: [o.open_campaign.pk], rule(SUPERVISORS)),
    "applications:detail": (
        lambda o: [o.application.pk],
        rule(APPLICATION_READERS, outside=OUTSIDE_A),
    ),
    # Not editable once submitted: the page sends the user back to the application.
    "applications:edit": (lambda o: [o.application.pk], rule(ENTERERS, ok=302, outside=OUTSIDE_A)),
    "applications:act": (lambda o: [o.application.pk], rule(APPLICATION_READERS, ok=405)),
    "applications:attach": (lambda o: [o.application.pk], rule(ATTACHERS, ok=405)),
    "applications:objection_create": (
        lambda o: [o.application.pk],
        rule(OBJECTION_RECORDERS, ok=405),
    ),
    "applications:attachment": (
        lambda o: [o.attachment.pk],
        rule(APPLICATION_READERS, outside=OUTSIDE_A),
    ),
    "applications:objection_resolve": (lambda o: [o.objection.pk], rule(SUPERVISORS, ok=405)),
    "applications:notice_detail": (
        lambda o: [o.notice.pk],
        rule(APPLICATION_READERS, outside={"township_clerk_t2"}),
    ),
    "applications:recusal_create": (lambda o: [o.household.pk], rule(REGISTRY_READERS, ok=405)),
    "campaigns:evidence_field_create": (lambda o: [], rule(ADMINISTRATORS, ok=405)),
    "applications:roster_upload": (
        lambda o: [o.open_campaign.pk],
        rule(ENTERERS, outside={"township_clerk_t2"}),
    ),
    # A roster is its uploader's (clerk_a's): other enterers do not find it.
    "applications:roster_detail": (
        lambda o: [o.roster.pk],
        rule({"clerk_a"}, outside=ENTERERS - {"clerk_a"}),
    ),
    "applications:roster_result": (
        lambda o: [o.roster.pk],
        rule({"clerk_a"}, outside=ENTERERS - {"clerk_a"}),
    ),
    "applications:roster_remap": (lambda o: [o.roster.pk], rule(ENTERERS, ok=405)),  # POST only
    "applications:roster_import": (lambda o: [o.roster.pk], rule(ENTERERS, ok=405)),  # POST only
    "documents:notice_pdf": (
        lambda o: [o.notice.pk],
        rule(APPLICATION_READERS, outside={"township_clerk_t2"}),
    ),
    # Village A has nothing approved yet: those who may print its sheet are
    # sent back to the queue with a message.
    "documents:payment_sheet_pdf": (
        lambda o: [o.open_campaign.pk, o.area.pk],
        rule(APPLICATION_READERS, ok=302, outside=OUTSIDE_A),
    ),
    # Ledger and statistics cover the whole campaign: for township T1 and above.
    "documents:signed_ledger": (
        lambda o: [o.open_campaign.pk],
        rule(CAMPAIGN_WIDE, outside={"township_clerk_t2"}),
    ),
    "documents:statistics_xlsx": (
        lambda o: [o.open_campaign.pk],
        rule(CAMPAIGN_WIDE, outside={"township_clerk_t2"}),
    ),
    # Payments: a third campaign of T1 pays one approved application of village A.
    "disbursements:campaign": (
        lambda o: [o.paying.pk],
        rule(PAYMENT_READERS, outside={"township_clerk_t2"}),
    ),
    "disbursements:village": (
        lambda o: [o.paying.pk, o.area.pk],
        rule(PAYMENT_READERS, outside=OUTSIDE_A),
    ),
    "disbursements:payment": (lambda o: [o.payment.pk], rule(PAYMENT_READERS, outside=OUTSIDE_A)),
    "disbursements:evidence": (
        lambda o: [o.payment.pk, "photo"],
        rule(PAYMENT_READERS, outside=OUTSIDE_A),
    ),
    "disbursements:scan": (lambda o: [o.scan.pk], rule(PAYMENT_READERS, outside=OUTSIDE_A)),
    "disbursements:finance": (lambda o: [o.paying.pk], rule(BOOKERS)),
    "disbursements:plan": (lambda o: [o.paying.pk], rule(PLANNERS, ok=405)),
    "disbursements:scan_upload": (lambda o: [o.paying.pk, o.area.pk], rule(PLANNERS, ok=405)),
    "disbursements:confirm": (lambda o: [o.paying.pk, o.area.pk], rule(PLANNERS, ok=405)),
    "disbursements:book": (lambda o: [o.paying.pk, o.area.pk], rule(BOOKERS, ok=405)),
    "disbursements:close_village": (lambda o: [o.paying.pk, o.area.pk], rule(BOOKERS, ok=405)),
    "disbursements:arrange": (lambda o: [o.payment.pk], rule(PLANNERS, ok=405)),
    "disbursements:hand_over": (lambda o: [o.payment.pk], rule(HANDERS, ok=405)),
    "disbursements:fail": (lambda o: [o.payment.pk], rule(HANDERS, ok=405)),
    "disbursements:photo": (lambda o: [o.payment.pk], rule(HANDERS, ok=405)),
    "disbursements:proxy_request": (lambda o: [o.payment.pk], rule(PROXY_ASKERS, ok=405)),
    "disbursements:correct": (lambda o: [o.payment.pk], rule(BOOKERS, ok=405)),
    "disbursements:proxy_decide": (lambda o: [o.proxy.pk], rule(SUPERVISORS, ok=405)),
    "disbursements:visit_start": (lambda o: [], rule(HANDERS)),
    "disbursements:visit_list": (
        lambda o: [o.paying.pk, o.area.pk],
        rule(HANDERS, outside=OUTSIDE_A),
    ),
    "disbursements:visit_sign": (lambda o: [o.payment.pk], rule(HANDERS, outside=OUTSIDE_A)),
    "disbursements:visit_receipt": (lambda o: [o.payment.pk], rule(HANDERS, ok=405)),  # POST
    # Signed ledgers: auditors, the finance office and the leadership check them.
    "disbursements:verify_ledger": (lambda o: [], rule(LEDGER_VERIFIERS)),
    "disbursements:public_keys": (lambda o: [], rule(LEDGER_VERIFIERS)),
    # Reports: the dashboard of T1's campaign (T2 does not see it), statistics
    # and comparisons over whatever campaigns and areas the user sees.
    "reports:dashboard": (
        lambda o: [o.open_campaign.pk],
        rule(APPLICATION_READERS, outside={"township_clerk_t2"}),
    ),
    "reports:summary_pdf": (
        lambda o: [o.paying.pk],
        rule(APPLICATION_READERS, outside={"township_clerk_t2"}),
    ),
    "reports:summary_xlsx": (
        lambda o: [o.paying.pk],
        rule(APPLICATION_READERS, outside={"township_clerk_t2"}),
    ),
    "reports:statistics": (lambda o: [], rule(APPLICATION_READERS)),
    "reports:statistics_xlsx": (lambda o: [], rule(APPLICATION_READERS)),
    "reports:comparison": (lambda o: [], rule(APPLICATION_READERS)),
    # T1's two 送温暖 campaigns are compared; township T2 sees no campaign: nothing to compare.
    "reports:comparison_xlsx": (
        lambda o: [],
        rule(APPLICATION_READERS, outside={"township_clerk_t2"}),
    ),
    # A background job is its owner's (clerk_a's) alone.
    "job_detail": (lambda o: [o.job.pk], rule({"clerk_a"}, outside=set(SIGNED_IN) - {"clerk_a"})),
    "job_progress": (
        lambda o: [o.job.pk],
        rule({"clerk_a"}, outside=set(SIGNED_IN) - {"clerk_a"}),
    ),
    "job_download": (
        lambda o: [o.job.pk],
        rule({"clerk_a"}, outside=set(SIGNED_IN) - {"clerk_a"}),
    ),
}


def project_url_names() -> dict[str, URLPattern]:
    """Every named URL outside Django's admin site, with its pattern."""
    found: dict[str, URLPattern] = {}

    def walk(patterns, namespace):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "admin":
                    continue
                walk(p.url_patterns, f"{p.namespace}:" if p.namespace else namespace)
            else:
                assert p.name, f"unnamed URL pattern {p.pattern}: every URL needs a name"
                found[namespace + p.name] = p

    walk(get_resolver().url_patterns, "")
    return found


def admin_url_names() -> list[tuple[str, URLPattern]]:
    resolver = next(
        p for p in get_resolver().url_patterns if getattr(p, "namespace", "") == "admin"
    )
    found = []

    def walk(patterns):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns)
            elif p.name:
                found.append((f"admin:{p.name}", p))

    walk(resolver.url_patterns)
    return found


def test_every_url_has_a_decision():
    undecided = sorted(set(project_url_names()) - set(EXPECTED))
    assert not undecided, f"URLs with no expected access per role in EXPECTED: {undecided}"
    stale = sorted(set(EXPECTED) - set(project_url_names()))
    assert not stale, f"EXPECTED names URLs that no longer exist: {stale}"


def test_every_view_declares_its_access():
    undeclared = [
        name for name, p in project_url_names().items() if not hasattr(p.callback, "access")
    ]
    assert not undeclared, f"views without @public/@signed_in/@requires: {undeclared}"


@pytest.fixture
def objects(people, household_a, areas, campaign_t1, settings, tmp_path) -> SimpleNamespace:
    from tests.applications.conftest import open_campaign, walk

    settings.MEDIA_ROOT = tmp_path
    # The office's ledger signing key: the ledger is only handed out signed.
    settings.LEDGER_KEY_DIR = tmp_path / "keys"
    signing.create_key()
    # A second, open campaign of T1 holds an application of village A in notice.
    running = open_campaign(people, areas.t1, "2026年送温暖")
    application = walk(people, running, household_a, "in_notice")
    objection = services.record_objection(
        people.supervisor,
        application,
        received_on=application.notice.starts_on,
        channel="phone",
        content="收入不实",
    )
    attachment = services.attach(
        people.superuser, application, SimpleUploadedFile("scan.pdf", b"%PDF-1.4 test")
    )
    head = household_a.members.get(relation="head")
    roster = roster_services.upload(
        people.clerk_a,
        running,
        SimpleUploadedFile("roster.csv", f"姓名,身份证号\n{head.name},{head.id_number}\n".encode()),
    )
    roster_services.preview(people.clerk_a, roster)
    job = Job.objects.create(kind="test", title="ledger", owner=people.clerk_a, status="done")
    job.result.save("ledger.xlsx", ContentFile(b"PK"))
    paying, payment, scan, proxy = _payments(people, areas)
    return SimpleNamespace(
        paying=paying,
        payment=payment,
        scan=scan,
        proxy=proxy,
        roster=roster,
        job=job,
        household=household_a,
        area=areas.a,
        user=people.clerk_a,
        role=people.clerk_a.roles.get(),
        campaign=campaign_t1,
        category=campaign_t1.categories.get(),
        open_campaign=running,
        application=application,
        notice=application.notice,
        objection=objection,
        attachment=attachment,
    )


def _payments(people, areas) -> tuple:
    """A campaign of T1 paying one approved application of village A, with a
    photo, a filed scan of the village's sheet and a proxy asked for."""
    from disbursements import services as payments
    from disbursements.models import Payment
    from tests.applications.conftest import open_campaign, walk
    from tests.conftest import make_household, valid_id
    from tests.disbursements.conftest import jpeg

    paying = open_campaign(people, areas.t1, "2026年慰问发放")
    walk(people, paying, make_household(people.superuser, areas.a, "钱七"), "approved")
    payments.plan_payments(people.township_clerk, paying)
    payment = Payment.objects.get(campaign=paying)
    payments.attach_photo(people.clerk_a, payment, SimpleUploadedFile("photo.jpg", jpeg()))
    scan = payments.attach_scan(
        people.township_clerk, paying, areas.a, SimpleUploadedFile("sheet.pdf", b"%PDF-1.4 x")
    )
    proxy = payments.request_proxy(
        people.clerk_a, payment, payments.Proxy("钱小七", valid_id(), "儿子", "户主住院")
    )
    return paying, payment, scan, proxy


def _client_for(client, people, persona):
    if persona != "anonymous":
        client.force_login(getattr(people, persona))
    return client


@pytest.mark.parametrize("persona", PERSONAS)
def test_who_gets_what(client, people, objects, persona):
    client = _client_for(client, people, persona)
    got, wanted = {}, {}
    for name, (arguments, expected) in EXPECTED.items():
        url = reverse(name, args=arguments(objects))
        got[name] = client.get(url).status_code
        wanted[name] = expected[persona]
    assert got == wanted


def _admin_kwargs(pattern: URLPattern, objects: SimpleNamespace) -> dict[str, object]:
    values = {
        "object_id": objects.area.pk,
        "id": objects.user.pk,
        "app_label": "relief",
        "content_type_id": ContentType.objects.get_for_model(Area).pk,
    }
    return {key: values[key] for key in pattern.pattern.regex.groupindex}


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_admin_site_is_for_superusers_only(client, people, objects, persona):
    client = _client_for(client, people, persona)
    for name, pattern in admin_url_names():
        response = client.get(reverse(name, kwargs=_admin_kwargs(pattern, objects)))
        if persona == "superuser":
            assert response.status_code < 500, name
            assert not response.get("Location", "").startswith("/admin/login/"), name
        elif name in ("admin:login", "admin:logout"):
            # The sign-in form (which says this account may not enter), and a
            # sign-out that sends the visitor back to it.
            assert response.status_code in (200, 302), name
            assert response.status_code == 200 or response["Location"].startswith("/admin/"), name
        else:
            assert response.status_code == 302, name
            assert response["Location"].startswith("/admin/login/"), name
