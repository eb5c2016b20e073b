"""Signed ledgers (disbursements.signing): keys, the signature file, and what
verification says about a ledger untouched, saved again, or edited in
LibreOffice, and about a signature file altered or signed with a key not on
record; the commands and the auditors' page.

Assertions read data: cell references, numbers, key ids, exit statuses, not
the wording of messages (the tests run in Chinese)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import json
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from openpyxl import load_workbook

from disbursements import signing
from disbursements.chain import canonical
from disbursements.models import ChainHead, SigningKey
from documents import ledger
from documents.ledger import write_ledger
from relief.models import AuditEvent
from tests.disbursements.signing_fixtures import fresh_key, pay, private_key_dir
from tests.documents.test_ledger import make_ledger_campaign

pytestmark = pytest.mark.django_db

FIRST = ledger.FIRST_ITEM_ROW
ITEMS = "发放台账"  # the items sheet's name in Chinese, the language the tests run in
EDITOR = Path(__file__).with_name("libreoffice_edit.py")


# -- data -------------------------------------------------------------------------------


@pytest.fixture
def key_dir(settings, tmp_path) -> Path:
    return private_key_dir(settings, tmp_path)


@pytest.fixture
def signing_key(settings, tmp_path) -> SigningKey:
    return fresh_key(settings, tmp_path)


@pytest.fixture
def paid(people, areas, campaign_t1, settings, tmp_path) -> SimpleNamespace:
    """The ledger campaign of the documents tests with its payments: one
    signed, one handed over, one planned, one corrected (reversal and
    replacement) and booked."""
    return pay(people, make_ledger_campaign(people, areas, campaign_t1), settings, tmp_path)


def export(campaign, path: Path) -> tuple[Path, bytes]:
    totals = write_ledger(campaign, path)
    signature = signing.sign_ledger(path, campaign, chain_head=totals.chain_head)
    return path, signature


# -- LibreOffice --------------------------------------------------------------------------


def libreoffice(source: Path, target: Path, *edit: str) -> Path:
    """`source` opened in LibreOffice Calc and saved as `target` (.xlsx),
    with one cell changed when `edit` is (sheet, cell, value)."""
    if shutil.which("soffice") is None:
        pytest.fail("LibreOffice is not installed: scripts/system-deps.sh", pytrace=False)
    python = "/usr/bin/python3"
    check = subprocess.run([python, "-c", "import uno"], capture_output=True)
    if check.returncode:
        pytest.fail(
            "Debian's python3-uno is missing (LibreOffice's Python bridge): "
            "scripts/system-deps.sh installs it",
            pytrace=False,
        )
    profile = Path(tempfile.mkdtemp(prefix="lo-edit-"))
    try:
        result = subprocess.run(
            [python, str(EDITOR), str(source), str(target), str(profile), *edit],
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert result.returncode == 0 and target.exists(), result.stdout + result.stderr
    return target


# -- keys -------------------------------------------------------------------------------


def test_it_creates_a_key_whose_private_half_only_this_account_reads(key_dir):
    key = signing.create_key()
    path = key_dir / f"{key.key_id}.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    public = serialization.load_pem_public_key(key.public_key.encode())
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert key.key_id == hashlib.sha256(raw).hexdigest()[:16]
    assert (
        private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        == raw
    )
    assert signing.active_key() == key


def test_it_refuses_to_sign_without_a_key(key_dir, people, areas, campaign_t1, tmp_path):
    with pytest.raises(signing.SigningError, match="ledger_key create"):
        signing.active_key()
    # A key on record whose private file is not on this machine does not sign either.
    key = signing.create_key()
    (key_dir / f"{key.key_id}.pem").unlink()
    with pytest.raises(signing.SigningError, match="ledger_key create"):
        signing.active_key()
    path = tmp_path / "ledger.xlsx"
    write_ledger(campaign_t1, path)
    with pytest.raises(signing.SigningError):
        signing.sign_ledger(path, campaign_t1)


def test_it_rotates_and_keeps_the_old_ledgers_verifiable(signing_key, paid, tmp_path):
    old, old_signature = export(paid.campaign, tmp_path / "old.xlsx")
    new_key = signing.rotate_key()
    signing_key.refresh_from_db()
    assert signing_key.retired_at is not None and new_key.retired_at is None
    assert signing.active_key() == new_key != signing_key
    new, new_signature = export(paid.campaign, tmp_path / "new.xlsx")
    assert json.loads(new_signature)["key_id"] == new_key.key_id
    for path, signature, key in ((old, old_signature, signing_key), (new, new_signature, new_key)):
        verdict = signing.verify_ledger(path, signature)
        assert verdict.valid, verdict.messages
        assert verdict.key_id == key.key_id


def test_it_signs_with_the_new_key_when_the_chosen_one_was_retired_meanwhile(
    signing_key, paid, tmp_path
):
    """A big export chooses its key before writing the rows; a rotation while
    it writes must not leave a signature made after its key's retirement."""
    path = tmp_path / "ledger.xlsx"
    totals = write_ledger(paid.campaign, path)
    new_key = signing.rotate_key()
    signature = signing.sign_ledger(
        path, paid.campaign, chain_head=totals.chain_head, key=signing_key
    )
    assert json.loads(signature)["key_id"] == new_key.key_id
    assert signing.verify_ledger(path, signature).valid


def test_it_refuses_a_signature_made_with_a_retired_key_after_its_retirement(
    signing_key, paid, tmp_path
):
    path, signature = export(paid.campaign, tmp_path / "ledger.xlsx")
    signing.rotate_key()
    signing_key.refresh_from_db()
    # Someone kept the retired key's private file and signs with it today.
    data = json.loads(signature)
    later = signing_key.retired_at + datetime.timedelta(minutes=5)
    data["signed_at"] = later.isoformat()
    del data["signature"]
    private = signing.load_private_key(signing_key)
    data["signature"] = base64.b64encode(private.sign(canonical(data))).decode()
    verdict = signing.verify_ledger(path, json.dumps(data).encode())
    assert not verdict.valid and verdict.signature_checked
    assert signing_key.key_id in verdict.messages[0]
    # What it signed before its retirement still verifies.
    assert signing.verify_ledger(path, signature).valid


# -- signing and verifying ------------------------------------------------------------------


def test_it_signs_the_ledger_with_its_chain_head_and_verifies_it(signing_key, paid, tmp_path):
    path, signature = export(paid.campaign, tmp_path / "ledger.xlsx")
    data = json.loads(signature)
    head = ChainHead.objects.get(campaign=paid.campaign)
    assert head.seq > 0
    assert data["chain_head"] == {"seq": head.seq, "hash": head.hash}
    assert data["campaign"] == {"id": paid.campaign.pk, "name": paid.campaign.name}
    assert data["key_id"] == signing_key.key_id
    assert data["file"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    # The head is printed in the ledger's title, in full.
    title = load_workbook(path, read_only=True).worksheets[0]["A4"].value
    assert f"#{head.seq}" in title and head.hash in title

    verdict = signing.verify_ledger(path, signature)
    assert verdict.valid and verdict.identical and verdict.signature_checked
    assert (verdict.chain_seq, verdict.chain_hash) == (head.seq, head.hash)
    assert verdict.campaign_id == paid.campaign.pk
    assert verdict.differences == []


def test_it_signs_a_ledger_before_any_payment(signing_key, campaign_t1, tmp_path):
    """No application approved, no chain yet: head 0 and 64 zeros, still signed."""
    path, signature = export(campaign_t1, tmp_path / "ledger.xlsx")
    assert json.loads(signature)["chain_head"] == {"seq": 0, "hash": "0" * 64}
    verdict = signing.verify_ledger(path, signature)
    assert verdict.valid and verdict.notes == []


def test_it_names_the_cell_edited_in_libreoffice_and_passes_the_untouched_ledger(
    signing_key, paid, tmp_path
):
    path, signature = export(paid.campaign, tmp_path / "ledger.xlsx")
    row = FIRST + 1  # 赵六's payment: 800 + goods 200
    sheet = load_workbook(path, read_only=True).worksheets[0]
    assert sheet.title == ITEMS
    assert sheet[f"L{row}"].value == 1000

    edited = libreoffice(path, tmp_path / "edited.xlsx", ITEMS, f"L{row}", "1200")
    verdict = signing.verify_ledger(edited, signature)
    assert not verdict.valid
    assert verdict.signature_checked  # the .sig is genuine: the workbook is what changed
    assert verdict.cells == [f"{ITEMS}!L{row}"]
    message = verdict.differences[0].message
    assert f"{ITEMS}!L{row}" in message and "1200" in message
    assert str(ledger.COLUMNS[11][0]) in message  # the column's header, in the active language

    untouched = signing.verify_ledger(path, signature)
    assert untouched.valid and untouched.identical


def test_it_passes_the_ledger_saved_again_in_libreoffice_without_edits(signing_key, paid, tmp_path):
    """LibreOffice rewrites the whole file (its own XML, formulas without the
    quotes round sheet names, cached values of every formula): the bytes
    differ, the content does not."""
    path, signature = export(paid.campaign, tmp_path / "ledger.xlsx")
    saved = libreoffice(path, tmp_path / "saved.xlsx")
    assert saved.read_bytes() != path.read_bytes()
    verdict = signing.verify_ledger(saved, signature)
    assert verdict.valid, verdict.messages
    assert not verdict.identical


def test_it_refuses_a_signature_file_edited_after_signing(signing_key, paid, tmp_path):
    path, signature = export(paid.campaign, tmp_path / "ledger.xlsx")
    data = json.loads(signature)
    for change in (
        lambda d: d["chain_head"].update(seq=d["chain_head"]["seq"] - 1),
        lambda d: d["campaign"].update(name="别的活动"),
        lambda d: d["manifest"].update(sha256="0" * 64),
        lambda d: d.update(signature=base64.b64encode(b"x" * 64).decode()),
    ):
        altered = json.loads(signature)
        change(altered)
        verdict = signing.verify_ledger(path, json.dumps(altered).encode())
        assert not verdict.valid and not verdict.signature_checked
    # The untouched one still passes, pretty-printed differently or not.
    assert signing.verify_ledger(path, json.dumps(data).encode()).valid


def test_it_refuses_what_is_not_a_signature_file(signing_key, paid, tmp_path):
    path, _signature = export(paid.campaign, tmp_path / "ledger.xlsx")
    for junk in (b"", b"\xff\xfe", b"[]", b'{"format": "other"}', path.read_bytes()[:100]):
        verdict = signing.verify_ledger(path, junk)
        assert not verdict.valid and verdict.messages


def test_it_refuses_a_key_not_on_record_or_not_the_one_given(signing_key, paid, tmp_path):
    path, signature = export(paid.campaign, tmp_path / "ledger.xlsx")
    other = signing.public_pem(
        serialization.load_pem_private_key(
            signing.private_key_path(signing.create_key().key_id).read_bytes(), None
        ).public_key()
    )
    assert not signing.verify_ledger(path, signature, other).valid
    assert signing.verify_ledger(path, signature, signing_key.public_key).valid
    # Elsewhere (another database) the office's key is not on record.
    SigningKey.objects.filter(pk=signing_key.pk).delete()
    verdict = signing.verify_ledger(path, signature)
    assert not verdict.valid and signing_key.key_id in verdict.messages[0]
    # Given its public key, the auditor can still check it.
    assert signing.verify_ledger(path, signature, signing_key.public_key).valid


def test_it_refuses_a_workbook_that_is_not_one(signing_key, paid, tmp_path):
    _path, signature = export(paid.campaign, tmp_path / "ledger.xlsx")
    for content in (b"not a workbook", b"PK\x03\x04broken", b""):
        fake = tmp_path / "fake.xlsx"
        fake.write_bytes(content)
        verdict = signing.verify_ledger(fake, signature)
        assert not verdict.valid and verdict.signature_checked and verdict.messages


def edit_with_openpyxl(path: Path, target: Path, change) -> Path:
    book = load_workbook(path)
    change(book)
    book.save(target)
    return target


def test_it_tells_rows_added_and_removed(signing_key, paid, tmp_path):
    path, signature = export(paid.campaign, tmp_path / "ledger.xlsx")
    removed = edit_with_openpyxl(
        path, tmp_path / "removed.xlsx", lambda b: b[ITEMS].delete_rows(FIRST + 2)
    )
    verdict = signing.verify_ledger(removed, signature)
    assert not verdict.valid
    assert verdict.cells == [f"{ITEMS}!{FIRST + 2}"]

    def add(book):
        book[ITEMS].insert_rows(FIRST + 1)
        book[ITEMS][f"A{FIRST + 1}"] = 99
        book[ITEMS][f"L{FIRST + 1}"] = 5000

    added = edit_with_openpyxl(path, tmp_path / "added.xlsx", add)
    verdict = signing.verify_ledger(added, signature)
    assert not verdict.valid
    assert verdict.cells == [f"{ITEMS}!{FIRST + 1}"]


def test_it_tells_a_number_from_text_of_the_same_digits(signing_key, paid, tmp_path):
    """An amount typed over as text looks the same and drops out of SUMIF."""
    path, signature = export(paid.campaign, tmp_path / "ledger.xlsx")

    def as_text(book):
        book[ITEMS][f"L{FIRST}"] = "500"

    edited = edit_with_openpyxl(path, tmp_path / "text.xlsx", as_text)
    verdict = signing.verify_ledger(edited, signature)
    assert verdict.cells == [f"{ITEMS}!L{FIRST}"]


def test_it_names_a_changed_formula_and_a_sheet_removed(signing_key, paid, tmp_path):
    path, signature = export(paid.campaign, tmp_path / "ledger.xlsx")
    book = load_workbook(path)
    by_village = book.worksheets[1]
    formula_cell = f"C{FIRST}"
    assert str(by_village[formula_cell].value).startswith("=SUMIF(")
    by_village[formula_cell] = "=1"
    budget = book.sheetnames[3]
    del book[budget]
    book.save(tmp_path / "edited.xlsx")
    verdict = signing.verify_ledger(tmp_path / "edited.xlsx", signature)
    assert not verdict.valid
    assert verdict.cells == [budget, f"{by_village.title}!{formula_cell}"]


def test_it_locates_cells_when_several_rows_of_one_column_change(signing_key, paid, tmp_path):
    path, signature = export(paid.campaign, tmp_path / "ledger.xlsx")

    def two(book):
        book[ITEMS][f"O{FIRST}"] = "某人"
        book[ITEMS][f"O{FIRST + 2}"] = "某人"

    verdict = signing.verify_ledger(edit_with_openpyxl(path, tmp_path / "e.xlsx", two), signature)
    assert verdict.cells == [f"{ITEMS}!O{FIRST}", f"{ITEMS}!O{FIRST + 2}"]


# -- the commands -------------------------------------------------------------------------


def test_it_exports_the_signed_ledger_and_the_command_verifies_it(signing_key, paid, tmp_path):
    path = tmp_path / "ledger.xlsx"
    call_command("export_ledger", str(paid.campaign.pk), out=str(path), stdout=io.StringIO())
    signature = tmp_path / "ledger.xlsx.sig"
    assert json.loads(signature.read_bytes())["key_id"] == signing_key.key_id

    out = io.StringIO()
    call_command("verify_ledger", str(path), str(signature), stdout=out)
    assert signing_key.key_id in out.getvalue()
    assert str(ChainHead.objects.get(campaign=paid.campaign).hash) in out.getvalue()

    edited = edit_with_openpyxl(
        path, tmp_path / "edited.xlsx", lambda b: b[ITEMS].cell(FIRST, 12, 9999)
    )
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit:
        call_command("verify_ledger", str(edited), str(signature), stdout=out)
    assert exit.value.code == 1
    assert f"{ITEMS}!L{FIRST}" in out.getvalue() and "9999" in out.getvalue()


def test_it_verifies_with_a_public_key_file_given(signing_key, paid, tmp_path):
    path, signature = export(paid.campaign, tmp_path / "ledger.xlsx")
    (tmp_path / "ledger.xlsx.sig").write_bytes(signature)
    pem = tmp_path / "office.pem"
    pem.write_text(signing_key.public_key)
    SigningKey.objects.all().delete()  # an auditor's own database: the keys are not on record
    args = [str(path), str(tmp_path / "ledger.xlsx.sig")]
    with pytest.raises(SystemExit):
        call_command("verify_ledger", *args, stdout=io.StringIO())
    call_command("verify_ledger", *args, "--public-key", str(pem), stdout=io.StringIO())
    with pytest.raises(CommandError, match=r"missing\.pem"):
        call_command("verify_ledger", *args, "--public-key", str(tmp_path / "missing.pem"))


def test_it_exports_unsigned_only_when_asked(key_dir, paid, tmp_path):
    path = tmp_path / "ledger.xlsx"
    with pytest.raises(CommandError, match="ledger_key create"):
        call_command("export_ledger", str(paid.campaign.pk), out=str(path))
    assert not path.exists()  # refused before the work
    call_command(
        "export_ledger", str(paid.campaign.pk), "--no-sign", out=str(path), stdout=io.StringIO()
    )
    assert path.exists() and not (tmp_path / "ledger.xlsx.sig").exists()


def test_it_manages_the_keys_from_the_command_line(key_dir):
    out = io.StringIO()
    call_command("ledger_key", "create", stdout=out)
    first = SigningKey.objects.get()
    assert first.key_id in out.getvalue() and first.public_key.strip() in out.getvalue()
    with pytest.raises(CommandError, match="rotate"):
        call_command("ledger_key", "create", stdout=io.StringIO())
    call_command("ledger_key", "rotate", stdout=io.StringIO())
    second = SigningKey.objects.get(retired_at=None)
    out = io.StringIO()
    call_command("ledger_key", "list", stdout=out)
    assert [line.split()[0] for line in out.getvalue().splitlines()] == [
        first.key_id,
        second.key_id,
    ]
    out = io.StringIO()
    call_command("ledger_key", "show", stdout=out)
    assert out.getvalue().strip() == second.public_key.strip()
    out = io.StringIO()
    call_command("ledger_key", "show", first.key_id, stdout=out)
    assert out.getvalue().strip() == first.public_key.strip()
    with pytest.raises(CommandError, match="0000"):
        call_command("ledger_key", "show", "0000")


# -- the auditors' pages --------------------------------------------------------------------


def upload(path: Path, content: bytes | None = None, name: str | None = None):
    return SimpleUploadedFile(name or path.name, path.read_bytes() if content is None else content)


def test_it_verifies_an_uploaded_pair_for_an_auditor(client, people, signing_key, paid, tmp_path):
    path, signature = export(paid.campaign, tmp_path / "ledger.xlsx")
    url = reverse("disbursements:verify_ledger")
    client.force_login(people.auditor)
    assert client.get(url).status_code == 200

    response = client.post(url, {"ledger": upload(path), "signature": upload(path, signature)})
    assert response.status_code == 200
    verdict = response.context["verdict"]
    assert verdict.valid and verdict.identical
    assert signing_key.key_id in response.content.decode()

    edited = edit_with_openpyxl(
        path, tmp_path / "edited.xlsx", lambda b: b[ITEMS].cell(FIRST + 1, 12, 1200)
    )
    response = client.post(url, {"ledger": upload(edited), "signature": upload(path, signature)})
    verdict = response.context["verdict"]
    assert not verdict.valid and verdict.cells == [f"{ITEMS}!L{FIRST + 1}"]
    assert f"{ITEMS}!L{FIRST + 1}" in response.content.decode()
    event = AuditEvent.objects.filter(action="ledger.verified").order_by("-id").first()
    assert event.actor == people.auditor and event.data["valid"] is False


def test_it_answers_bad_uploads_with_a_message_not_an_error(
    client, people, signing_key, paid, tmp_path, monkeypatch
):
    path, signature = export(paid.campaign, tmp_path / "ledger.xlsx")
    url = reverse("disbursements:verify_ledger")
    client.force_login(people.finance)
    for ledger_file, signature_file in (
        (upload(path, b"%PDF-1.4 not a workbook", "x.xlsx"), upload(path, signature, "x.sig")),
        (upload(path), upload(path, b"\x00\x01 not json", "x.sig")),
        (upload(path), upload(path, path.read_bytes(), "x.sig")),
    ):
        response = client.post(url, {"ledger": ledger_file, "signature": signature_file})
        assert response.status_code == 200
        verdict = response.context["verdict"]
        assert not verdict.valid and verdict.messages
    # Missing files and files over the limits: the form says so.
    response = client.post(url, {"ledger": upload(path)})
    assert response.status_code == 400 and response.context["verdict"] is None
    monkeypatch.setattr("disbursements.views.verify.SIGNATURE_MAX_BYTES", 10)
    response = client.post(url, {"ledger": upload(path), "signature": upload(path, signature)})
    assert response.status_code == 400 and "signature" in response.context["form"].errors


def test_it_shows_the_public_keys_to_auditors_and_refuses_a_village_clerk(
    client, people, signing_key, key_dir
):
    retired = signing_key
    current = signing.rotate_key()
    client.force_login(people.auditor)
    page = client.get(reverse("disbursements:public_keys")).content.decode()
    for key in (retired, current):
        assert key.key_id in page
        assert key.public_key.strip().splitlines()[1] in page
    assert page.index(current.key_id) < page.index(retired.key_id)  # newest first
    client.force_login(people.clerk_a)
    assert client.get(reverse("disbursements:public_keys")).status_code == 403
    assert client.get(reverse("disbursements:verify_ledger")).status_code == 403
    client.logout()
    assert client.get(reverse("disbursements:verify_ledger")).status_code == 302
