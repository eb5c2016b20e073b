"""Backups (relief.backup, manage.py backup / restore): the restore drill on
the suite's database (SQLite or PostgreSQL), refusals that change nothing,
retention, and SQLite's online copy of a live WAL database.

Tests that back up are transactional: pg_dump (another process) sees only
committed rows."""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from relief import backup
from relief.choices import Role
from relief.models import Area, RoleAssignment, User
from tests.conftest import make_area, make_user

backs_up = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def english(settings) -> None:
    """The commands speak the default language; these tests read the English text."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def media(settings, tmp_path) -> Path:
    root = tmp_path / "site" / "media"
    root.mkdir(parents=True)
    settings.MEDIA_ROOT = root
    return root


def run_backup(directory: Path, *options: str) -> tuple[Path, str]:
    """The archive one backup run wrote, and what it printed."""
    before = set(directory.glob("relief-*.tar")) if directory.exists() else set()
    out = io.StringIO()
    call_command("backup", "--dir", str(directory), *options, stdout=out)
    (archive,) = set(directory.glob("relief-*.tar")) - before
    return archive, out.getvalue()


def restore(archive: Path, **options) -> str:
    out = io.StringIO()
    call_command("restore", str(archive), stdout=out, **options)
    return out.getvalue()


def files_under(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def database_state() -> dict[str, list[dict]]:
    return {
        "areas": list(Area.objects.order_by("pk").values("pk", "code", "name", "level", "parent")),
        "users": list(
            User.objects.order_by("pk").values(
                "pk", "username", "name", "phone", "password", "area"
            )
        ),
        "roles": list(RoleAssignment.objects.order_by("pk").values("pk", "user", "role", "area")),
    }


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def write_archive(path: Path, content: dict[str, bytes]) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data in content.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def rewrite(archive: Path, *, replace: dict[str, bytes] | None = None, **manifest_changes) -> None:
    """The archive again with members replaced (their checksums updated in the
    manifest, as a forger would) and manifest fields changed."""
    content = members(archive)
    manifest = json.loads(content.pop(backup.MANIFEST))
    for name, data in (replace or {}).items():
        content[name] = data
        manifest["members"][name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    manifest.update(manifest_changes)
    write_archive(archive, {backup.MANIFEST: json.dumps(manifest).encode(), **content})


def flip_byte(archive: Path, member: str) -> None:
    with tarfile.open(archive) as tar:
        info = tar.getmember(member)
        offset = info.offset_data + info.size // 2
    with archive.open("r+b") as stream:
        stream.seek(offset)
        byte = stream.read(1)
        stream.seek(offset)
        stream.write(bytes([byte[0] ^ 0xFF]))


def dump_member() -> str:
    return backup.DUMPS[connection.vendor]


@pytest.fixture
def filed(media, db) -> dict:
    """A little of everything a backup must bring back."""
    county = make_area("130123000000", "示范县")
    town = make_area("130123100000", "城关镇")
    clerk = make_user("tclerk", Role.TOWNSHIP_CLERK, town, phone="13800138000")
    make_user("admin", Role.ADMINISTRATOR, county)
    scan = media / "attachments" / "2026" / "扫描件.pdf"
    scan.parent.mkdir(parents=True)
    scan.write_bytes(bytes(range(256)) * 40)
    (media / "jobs" / "2026" / "12").mkdir(parents=True)
    (media / "jobs" / "2026" / "12" / "台账.xlsx").write_bytes(b"PK\x03\x04 ledger")
    return {"town": town, "clerk": clerk, "scan": scan}


# -- the restore drill --------------------------------------------------------------------


@backs_up
def test_it_restores_the_database_and_the_media_files_as_they_were(filed, media, tmp_path):
    archive, printed = run_backup(tmp_path / "backups")
    assert f"Wrote {archive}" in printed
    database, uploads = database_state(), files_under(media)
    assert len(database["areas"]) == 2 and len(database["users"]) == 2
    assert set(uploads) == {"attachments/2026/扫描件.pdf", "jobs/2026/12/台账.xlsx"}

    # Afterwards: a record renamed, an account deleted, an area added, an upload
    # overwritten, another deleted, one added.
    filed["town"].name = "改名镇"
    filed["town"].save()
    filed["clerk"].delete()
    make_area("130123200000", "东岭乡")
    filed["scan"].write_bytes(b"overwritten")
    (media / "jobs" / "2026" / "12" / "台账.xlsx").unlink()
    (media / "later.txt").write_text("uploaded after the backup")
    assert database_state() != database

    printed = restore(archive, yes=True)

    assert database_state() == database
    assert files_under(media) == uploads
    assert "relief.Area: 2 / 2" in printed and "relief.User: 2 / 2" in printed
    # Nothing left beside the media folder: the old one is gone, the new one in place.
    assert sorted(p.name for p in media.parent.iterdir()) == ["media"]
    # The restored database takes new writes.
    make_area("130123200000", "东岭乡")
    assert Area.objects.count() == 3


@backs_up
def test_it_writes_a_manifest_with_checksums_migrations_and_counts(filed, tmp_path):
    archive, _ = run_backup(tmp_path / "backups")
    content = members(archive)
    manifest = json.loads(content[backup.MANIFEST])

    assert sorted(content) == sorted([backup.MANIFEST, dump_member(), backup.MEDIA])
    assert manifest["format"] == "relief-backup" and manifest["version"] == 1
    assert manifest["vendor"] == connection.vendor
    for name in (dump_member(), backup.MEDIA):
        facts = manifest["members"][name]
        assert facts == {
            "size": len(content[name]),
            "sha256": hashlib.sha256(content[name]).hexdigest(),
        }
    assert manifest["counts"]["relief.Area"] == 2
    assert manifest["counts"]["relief.User"] == 2
    assert manifest["media_files"] == 2
    from django.db.migrations.recorder import MigrationRecorder

    applied = {
        name for app, name in MigrationRecorder(connection).applied_migrations() if app == "relief"
    }
    latest = max(applied)
    assert manifest["migrations"]["relief"] == [latest]
    # Readable by this account only: it holds every household's ID numbers.
    assert archive.stat().st_mode & 0o077 == 0
    created = datetime.datetime.strptime(manifest["created_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert archive.name == f"relief-{created:%Y%m%dT%H%M%S}Z.tar"


@backs_up
def test_it_leaves_no_archive_when_a_backup_fails_half_way(filed, tmp_path, monkeypatch):
    def broken(root, target):
        target.write_bytes(b"half a tar")
        raise OSError("No space left on device")

    monkeypatch.setattr(backup, "pack_media", broken)
    directory = tmp_path / "backups"
    with pytest.raises(OSError, match="No space left"):
        call_command("backup", "--dir", str(directory), stdout=io.StringIO())
    assert list(directory.iterdir()) == []


# -- refusals: each changes nothing --------------------------------------------------------


@pytest.fixture
def changed_after_backup(filed, media, tmp_path):
    """An archive, and the database and media changed since; returns a check
    that nothing was restored."""
    archive, _ = run_backup(tmp_path / "backups")
    filed["town"].name = "改名镇"
    filed["town"].save()
    filed["scan"].write_bytes(b"changed since")
    state, uploads = database_state(), files_under(media)

    def unchanged() -> bool:
        return (
            database_state() == state
            and files_under(media) == uploads
            and sorted(p.name for p in media.parent.iterdir()) == ["media"]
        )

    return archive, unchanged


@backs_up
@pytest.mark.parametrize("member", ["database", "media"])
def test_it_refuses_an_archive_whose_member_was_altered(changed_after_backup, member):
    archive, unchanged = changed_after_backup
    flip_byte(archive, dump_member() if member == "database" else backup.MEDIA)
    with pytest.raises(CommandError, match="does not match its checksum"):
        restore(archive, yes=True)
    assert unchanged()


@backs_up
def test_it_refuses_a_truncated_archive(changed_after_backup):
    archive, unchanged = changed_after_backup
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(CommandError, match="not a complete backup archive"):
        restore(archive, yes=True)
    assert unchanged()


@backs_up
def test_it_refuses_a_database_of_the_other_kind(changed_after_backup):
    archive, unchanged = changed_after_backup
    other = "sqlite" if connection.vendor == "postgresql" else "postgresql"
    # What the other kind's backup holds: its dump under its own name.
    content = members(archive)
    manifest = json.loads(content[backup.MANIFEST])
    manifest["vendor"] = other
    manifest["members"][backup.DUMPS[other]] = manifest["members"].pop(dump_member())
    content[backup.DUMPS[other]] = content.pop(dump_member())
    content[backup.MANIFEST] = json.dumps(manifest).encode()
    write_archive(archive, content)

    names = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
    with pytest.raises(CommandError) as refused:
        restore(archive, yes=True)
    assert str(refused.value).startswith(
        f"This archive holds a {names[other]} database; this installation runs on "
        f"{names[connection.vendor]}."
    )
    assert unchanged()


@backs_up
def test_it_refuses_an_archive_made_by_newer_code(changed_after_backup):
    archive, unchanged = changed_after_backup
    manifest = json.loads(members(archive)[backup.MANIFEST])
    heads = manifest["migrations"]
    heads["relief"] = [*heads["relief"], "9999_from_a_later_release"]
    rewrite(archive, migrations=heads)
    with pytest.raises(CommandError, match=r"newer version.*relief\.9999_from_a_later_release"):
        restore(archive, yes=True)
    assert unchanged()


@backs_up
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="pg_restore --clean drops only the tables the dump holds; SQLite's copy replaces all",
)
def test_it_refuses_to_leave_tables_the_archive_does_not_hold(changed_after_backup):
    archive, unchanged = changed_after_backup
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE from_a_later_migration (id integer)")
    try:
        with pytest.raises(CommandError, match=r"not \(public\.from_a_later_migration\)"):
            restore(archive, yes=True)
        assert unchanged()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE from_a_later_migration")


def media_tar(member: tarfile.TarInfo, data: bytes = b"x") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        ok = tarfile.TarInfo("attachments/ok.txt")
        ok.size = 1
        tar.addfile(ok, io.BytesIO(b"y"))
        if member.isfile():
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
        else:
            tar.addfile(member)
    return buffer.getvalue()


def _link(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info


@backs_up
@pytest.mark.parametrize(
    "member",
    [
        tarfile.TarInfo("../escaped.txt"),
        tarfile.TarInfo("attachments/../../escaped.txt"),
        tarfile.TarInfo("/tmp/escaped.txt"),
        _link("attachments/link", "../../escaped.txt"),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink"],
)
def test_it_refuses_media_members_outside_the_media_folder(changed_after_backup, tmp_path, member):
    archive, unchanged = changed_after_backup
    rewrite(archive, replace={backup.MEDIA: media_tar(member)})
    with pytest.raises(CommandError, match="not a plain file or folder inside the media folder"):
        restore(archive, yes=True)
    assert unchanged()
    assert not list(tmp_path.rglob("escaped.txt"))
    assert not Path("/tmp/escaped.txt").exists()


@backs_up
def test_it_asks_before_restoring_and_refuses_without_a_terminal(changed_after_backup, filed):
    archive, unchanged = changed_after_backup

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    with pytest.raises(CommandError, match="Not at a terminal: run with --yes"):
        restore(archive, stdin=io.StringIO("yes\n"))
    assert unchanged()
    with pytest.raises(CommandError, match="Nothing was changed"):
        restore(archive, stdin=Terminal("no\n"))
    assert unchanged()

    printed = restore(archive, stdin=Terminal("yes\n"))
    assert "Type yes to go on" in printed
    assert Area.objects.get(pk=filed["town"].pk).name == "城关镇"
    assert filed["scan"].read_bytes() == bytes(range(256)) * 40


@backs_up
def test_it_checks_an_archive_without_changing_anything(changed_after_backup):
    archive, unchanged = changed_after_backup
    printed = restore(archive, check=True)
    assert "every checksum matches" in printed and "nothing was changed" in printed
    assert unchanged()


def test_it_refuses_a_backup_folder_inside_the_media_folder(media):
    with pytest.raises(CommandError, match="inside MEDIA_ROOT"):
        call_command("backup", "--dir", str(media / "backups"), stdout=io.StringIO())
    assert not (media / "backups").exists()


# -- retention -----------------------------------------------------------------------------


def test_it_keeps_the_newest_of_each_recent_day_week_and_month():
    names = [
        "relief-20260310T230000Z.tar",  # Tue, ISO week 11: newest day, week and month
        "relief-20260310T010000Z.tar",  # same day, older: nothing keeps it
        "relief-20260309T230000Z.tar",  # Mon, week 11: the second day
        "relief-20260308T230000Z.tar",  # Sun, week 10: days full; the second week
        "relief-20260302T230000Z.tar",  # Mon, week 10: week 10 has a newer one
        "relief-20260227T230000Z.tar",  # Fri, week 9: weeks full; February, the second month
        "relief-20260201T230000Z.tar",  # February has a newer one
        "relief-20260115T230000Z.tar",  # months full
        "relief-latest.tar",
        "notes.txt",
        ".relief-20260311T000000Z.partial",
    ]
    plan = backup.retention_plan(names, daily=2, weekly=2, monthly=2)
    assert plan.keep == [
        "relief-20260310T230000Z.tar",
        "relief-20260309T230000Z.tar",
        "relief-20260308T230000Z.tar",
        "relief-20260227T230000Z.tar",
    ]
    assert plan.prune == [
        "relief-20260310T010000Z.tar",
        "relief-20260302T230000Z.tar",
        "relief-20260201T230000Z.tar",
        "relief-20260115T230000Z.tar",
    ]


def test_it_counts_weeks_by_iso_week_across_the_new_year():
    # 2020-12-31 (Thu) and 2021-01-03 (Sun) are both in ISO week 2020-W53.
    names = [
        "relief-20210103T020000Z.tar",
        "relief-20201231T020000Z.tar",
        "relief-20201224T020000Z.tar",
    ]
    plan = backup.retention_plan(names, daily=1, weekly=2, monthly=0)
    assert plan.keep == ["relief-20210103T020000Z.tar", "relief-20201224T020000Z.tar"]


@backs_up
def test_it_prunes_after_writing_and_touches_nothing_else(filed, tmp_path):
    directory = tmp_path / "backups"
    directory.mkdir()
    old = [
        "relief-20200105T020000Z.tar",
        "relief-20200104T020000Z.tar",
        "relief-20191231T020000Z.tar",
    ]
    for name in [*old, "relief-notes.tar", "keep-me.tar"]:
        (directory / name).write_bytes(b"fake")
    stale = directory / ".relief-20200101T000000Z.partial"
    running = directory / ".relief-20991231T000000Z.partial"
    stale.mkdir()
    running.mkdir()
    two_days_ago = time.time() - 2 * 86400
    os.utime(stale, (two_days_ago, two_days_ago))

    archive, printed = run_backup(
        directory, "--keep-daily", "2", "--keep-weekly", "1", "--keep-monthly", "1"
    )

    # Today's archive is the newest day, week and month; the newest old one the second day.
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [archive.name, old[0], "relief-notes.tar", "keep-me.tar", running.name]
    )
    assert f"Pruned {directory / old[1]}" in printed
    assert f"Pruned {directory / old[2]}" in printed
    assert f"Removed {stale}, left by an interrupted backup." in printed
    assert "2 archives kept" in printed


def test_it_refuses_to_keep_no_daily_archive(tmp_path):
    with pytest.raises(CommandError, match="--keep-daily must be 1 or more"):
        call_command("backup", "--dir", str(tmp_path), "--keep-daily", "0")
    assert list(tmp_path.iterdir()) == []


# -- SQLite: the online copy ---------------------------------------------------------------


def wal_database(path: Path, rows: range) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")  # keep the rows in the -wal file
    db.execute("CREATE TABLE item (n INTEGER)")
    db.executemany("INSERT INTO item VALUES (?)", [(n,) for n in rows])
    db.commit()
    return db


def test_it_copies_a_live_wal_database_with_what_is_still_in_its_wal(tmp_path):
    live = tmp_path / "live.sqlite3"
    writer = wal_database(live, range(100))
    assert Path(f"{live}-wal").stat().st_size > 0
    # A plain copy of the file misses what sits in the -wal file.
    shutil.copy(live, tmp_path / "plain.sqlite3")
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        sqlite3.connect(tmp_path / "plain.sqlite3").execute("SELECT COUNT(*) FROM item")

    backup.sqlite_snapshot(str(live), tmp_path / "copy.sqlite3")

    copy = sqlite3.connect(tmp_path / "copy.sqlite3")
    assert copy.execute("SELECT SUM(n) FROM item").fetchone() == (sum(range(100)),)
    assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    writer.close()


def test_it_restores_into_a_live_wal_database_other_connections_then_read(tmp_path):
    archived = tmp_path / "archived.sqlite3"
    wal_database(archived, range(3)).close()
    live = tmp_path / "live.sqlite3"
    wal_database(live, range(10, 20)).close()
    reader = sqlite3.connect(live)
    assert reader.execute("SELECT MIN(n) FROM item").fetchone() == (10,)

    backup.sqlite_restore(archived, str(live))

    assert reader.execute("SELECT n FROM item ORDER BY n").fetchall() == [(0,), (1,), (2,)]
    assert reader.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert reader.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_it_leaves_a_locked_sqlite_database_as_it_was(tmp_path):
    archived = tmp_path / "archived.sqlite3"
    wal_database(archived, range(3)).close()
    live = tmp_path / "live.sqlite3"
    writer = wal_database(live, range(10, 20))
    writer.execute("BEGIN IMMEDIATE")  # another process is writing

    with pytest.raises(sqlite3.OperationalError, match="locked"):
        backup.sqlite_restore(archived, str(live), timeout=0.1)

    writer.rollback()
    assert writer.execute("SELECT MIN(n), COUNT(*) FROM item").fetchone() == (10, 10)


# -- PostgreSQL client tools ---------------------------------------------------------------


def test_it_names_a_missing_client_program(monkeypatch):
    monkeypatch.setattr(backup.shutil, "which", lambda name: None)
    with pytest.raises(backup.BackupError, match="pg_restore was not found on PATH"):
        backup.require_tool("pg_restore")


def test_it_refuses_client_programs_older_than_the_server(monkeypatch):
    monkeypatch.setattr(backup.shutil, "which", lambda name: f"/usr/lib/postgresql/14/bin/{name}")
    monkeypatch.setattr(backup, "_tool_major", lambda path: 14)
    with pytest.raises(backup.BackupError, match="pg_dump is version 14 but version 16"):
        backup.require_tool("pg_dump", at_least=16)


def test_it_gives_pg_dump_the_connection_without_the_password():
    from psycopg.conninfo import conninfo_to_dict

    settings_dict = {
        "NAME": "relief",
        "USER": "relief",
        "PASSWORD": "s3cret pass'word",
        "HOST": "db.internal",
        "PORT": "5433",
        "OPTIONS": {"options": "-c jit=off", "sslmode": "require", "pool": True},
    }
    params = backup.libpq_params(settings_dict)
    assert params == {
        "dbname": "relief",
        "user": "relief",
        "host": "db.internal",
        "port": "5433",
        "options": "-c jit=off",
        "sslmode": "require",
    }
    line = backup.conninfo({**params, "application_name": "a 'quoted' \\ name"})
    assert "s3cret" not in line
    assert conninfo_to_dict(line) == {**params, "application_name": "a 'quoted' \\ name"}
    assert backup._pg_environment(settings_dict)["PGPASSWORD"] == "s3cret pass'word"
