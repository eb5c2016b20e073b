"""The documents' downloads: the right file for those who may have it, big
ones made by the background worker, every download an audit event."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from django.urls import reverse

from applications.models import Notice
from disbursements import signing
from relief.models import AuditEvent, Job, JobStatus
from tests.disbursements.signing_fixtures import fresh_key

from .conftest import approved, big_campaign, household, names, pdf_text, through_notice

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(people, areas, settings, tmp_path):
    """东关村 with three approved households, 西关村 with one in notice."""
    settings.MEDIA_ROOT = tmp_path
    made = big_campaign(people, areas.t1)
    approved(people, made, [household(people, areas.a, n) for n in names(3)])
    through_notice(people, made, [household(people, areas.b, "褚淑芬")])
    return made


def test_it_gives_the_public_notice_as_pdf_masking_id_numbers(client, people, campaign, areas):
    notice = Notice.objects.filter(campaign=campaign).latest("pk")
    client.force_login(people.clerk_a)
    response = client.get(reverse("documents:notice_pdf", args=[notice.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "褚淑芬" in text
    head = notice.applications.get().household.head
    assert head.id_number not in text.replace(" ", "")


def test_it_prints_one_village_of_a_township_notice(client, people, campaign, areas):
    notice = Notice.objects.filter(campaign=campaign).latest("pk")
    client.force_login(people.township_clerk)
    url = reverse("documents:notice_pdf", args=[notice.pk])
    response = client.get(url, {"village": areas.b.pk})
    assert response.status_code == 200
    # A village outside the notice's area, or no number at all, is not found.
    assert client.get(url, {"village": "x"}).status_code == 404


def test_it_gives_a_villages_payment_sheet_to_the_township_not_to_another_village(
    client, people, campaign, areas
):
    url = reverse("documents:payment_sheet_pdf", args=[campaign.pk, areas.a.pk])
    client.force_login(people.township_clerk)
    # The queue links the sheet of the village with approved applications only.
    queue = client.get(reverse("applications:queue", args=[campaign.pk])).content.decode()
    assert url in queue
    assert reverse("documents:payment_sheet_pdf", args=[campaign.pk, areas.b.pk]) not in queue
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert names(3)[0] in pdf_text(response.content)
    client.force_login(people.clerk_b)
    assert client.get(url).status_code == 404


def test_it_sends_back_a_village_with_nothing_approved_with_a_message(
    client, people, campaign, areas
):
    client.force_login(people.township_clerk)
    url = reverse("documents:payment_sheet_pdf", args=[campaign.pk, areas.b.pk])
    response = client.get(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("applications:queue", args=[campaign.pk])
    assert areas.b.name in response.content.decode()


def ledger_zip(content: bytes) -> tuple[bytes, bytes]:
    """The workbook and its signature file from the ledger's download."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = archive.namelist()
        assert len(names) == 2 and names[0].endswith(".xlsx")
        assert names[1] == names[0] + ".sig"
        return archive.read(names[0]), archive.read(names[1])


def test_it_gives_the_ledger_signed_to_the_township_and_refuses_a_village_clerk(
    client, people, campaign, settings, tmp_path
):
    key = fresh_key(settings, tmp_path)
    url = reverse("documents:signed_ledger", args=[campaign.pk])
    client.force_login(people.clerk_a)
    assert client.get(url).status_code == 403
    client.force_login(people.finance)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert ".zip" in response["Content-Disposition"]
    workbook, signature = ledger_zip(response.content)
    book = openpyxl.load_workbook(io.BytesIO(workbook))
    items = book.worksheets[0]
    found = {cell.value for row in items.iter_rows() for cell in row}
    assert set(names(3)) <= found
    assert "褚淑芬" not in found  # only in notice, not approved
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(workbook)
    verdict = signing.verify_ledger(path, signature)
    assert verdict.valid and verdict.identical and verdict.key_id == key.key_id
    event = AuditEvent.objects.get(action="document.ledger")
    assert event.actor == people.finance


def test_it_hands_out_no_unsigned_ledger(client, people, campaign, settings, tmp_path):
    settings.LEDGER_KEY_DIR = tmp_path / "no-keys"
    client.force_login(people.finance)
    response = client.get(reverse("documents:signed_ledger", args=[campaign.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("applications:queue", args=[campaign.pk])
    assert "ledger_key create" in response.content.decode()
    assert not AuditEvent.objects.filter(action="document.ledger").exists()
    # From the finance page, back to it; never to another site.
    finance = reverse("disbursements:finance", args=[campaign.pk])
    url = reverse("documents:signed_ledger", args=[campaign.pk])
    response = client.get(url, headers={"referer": f"http://testserver{finance}"})
    assert response["Location"] == f"http://testserver{finance}"
    response = client.get(url, headers={"referer": "https://example.com/"})
    assert response["Location"] == reverse("applications:queue", args=[campaign.pk])


def test_it_makes_a_big_ledger_in_the_background_signed(
    client, people, campaign, settings, tmp_path, django_capture_on_commit_callbacks
):
    fresh_key(settings, tmp_path)
    settings.BACKGROUND_ROWS = 2
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    client.force_login(people.finance)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("documents:signed_ledger", args=[campaign.pk]))
    job = Job.objects.get(owner=people.finance)
    assert response["Location"] == reverse("job_detail", args=[job.pk])
    assert job.status == JobStatus.DONE, job.error
    assert job.result_name.endswith(".zip")
    download = client.get(reverse("job_download", args=[job.pk]))
    workbook, signature = ledger_zip(b"".join(download.streaming_content))
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(workbook)
    assert signing.verify_ledger(path, signature).valid


def test_it_gives_the_statistics_as_xlsx(client, people, campaign):
    client.force_login(people.supervisor)
    response = client.get(reverse("documents:statistics_xlsx", args=[campaign.pk]))
    assert response.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(response.content)).sheetnames


def test_it_makes_a_big_document_in_the_background_and_offers_the_file(
    client, people, campaign, areas, settings, django_capture_on_commit_callbacks
):
    settings.BACKGROUND_PDF_ROWS = 2
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    client.force_login(people.township_clerk)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(
            reverse("documents:payment_sheet_pdf", args=[campaign.pk, areas.a.pk])
        )
    job = Job.objects.get(owner=people.township_clerk)
    assert response.status_code == 302
    assert response["Location"] == reverse("job_detail", args=[job.pk])
    assert job.status == JobStatus.DONE
    assert (job.done, job.total) == (3, 3)
    page = client.get(response["Location"]).content.decode()
    assert reverse("job_download", args=[job.pk]) in page
    download = client.get(reverse("job_download", args=[job.pk]))
    assert names(3)[1] in pdf_text(b"".join(download.streaming_content))
