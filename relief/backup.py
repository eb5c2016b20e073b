"""Backups: one archive per run holding the database and the media files,
and its restore (`manage.py backup`, `manage.py restore`; docs/backup.md).

An archive is an uncompressed tar named relief-<UTC time>.tar holding

- manifest.json: format and version, when, the database vendor, the
  migrations applied per app (their heads), the size and SHA-256 of every
  other member, and row counts of a few key tables, all read from the same
  snapshot the dump was taken from;
- database.dump (PostgreSQL, `pg_dump --format=custom`) or database.sqlite3
  (SQLite, copied with the online backup API: a consistent snapshot even
  while the application writes, which a plain copy of a WAL database is not);
- media.tar: the files under MEDIA_ROOT (uploads, scans, generated documents).

It is written under a hidden temporary name in the backup directory and
renamed into place only once complete, so a file named relief-*.tar is
always a whole archive. Restoring checks everything (the manifest, every
checksum, the vendor, the migrations, the media members' paths, the dump's
readability) before it changes anything.

Not in an archive: the environment (.env: SECRET_KEY, DATABASE_URL with its
password) and the ledger signing private keys in LEDGER_KEY_DIR, which
disbursements.signing keeps outside the database and the media on purpose.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.apps import apps
from django.conf import settings
from django.db import connection, connections
from django.db.migrations.loader import MigrationLoader
from django.utils.translation import gettext as _

FORMAT = "relief-backup"
VERSION = 1
MANIFEST = "manifest.json"
MEDIA = "media.tar"
DUMPS = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
VENDOR_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
STAMP = "%Y%m%dT%H%M%SZ"
ARCHIVE_NAME = re.compile(r"^relief-(\d{8}T\d{6}Z)\.tar$")
PARTIAL_NAME = re.compile(r"^\.relief-\d{8}T\d{6}Z\.partial$")
# A work directory this old was left by a killed run, not one still going.
STALE_PARTIAL = datetime.timedelta(days=1)
# Tables whose row counts the manifest records and a restore compares.
KEY_TABLES = (
    "relief.Area",
    "relief.User",
    "recipients.Household",
    "recipients.Person",
    "campaigns.Campaign",
    "applications.Application",
    "disbursements.Payment",
    "disbursements.PaymentEvent",
    "relief.AuditEvent",
)
CHUNK = 1024 * 1024
# Settings OPTIONS that Django or psycopg consume themselves; everything else
# in OPTIONS is a libpq keyword (sslmode, options, …) that pg_dump needs too.
NOT_LIBPQ = {
    "assume_role",
    "isolation_level",
    "pool",
    "server_side_binding",
    "cursor_factory",
    "context",
    "prepare_threshold",
    "client_encoding",
    "autocommit",
}


class BackupError(Exception):
    """A refusal or failure the administrator can act on; the message says what."""


@dataclass(frozen=True)
class Retention:
    keep: list[str]
    prune: list[str]


@dataclass(frozen=True)
class Written:
    path: Path
    manifest: dict[str, Any]
    skipped_media: list[str]
    removed_partials: list[Path]


@dataclass
class Verified:
    """An archive whose every member was checked and copied into `workdir`."""

    archive: Path
    manifest: dict[str, Any]
    workdir: Path
    database: Path
    media: Path
    media_files: int
    migrate_needed: list[str] = field(default_factory=list)
    other_sessions: int = 0


# -- names and retention -----------------------------------------------------------------


def archive_name(at: datetime.datetime) -> str:
    return f"relief-{at.astimezone(datetime.UTC).strftime(STAMP)}.tar"


def archive_time(name: str) -> datetime.datetime | None:
    """When the archive of this name was made, or None for any other file."""
    match = ARCHIVE_NAME.match(name)
    if match is None:
        return None
    try:
        return datetime.datetime.strptime(match[1], STAMP).replace(tzinfo=datetime.UTC)
    except ValueError:
        return None


def _periods() -> Sequence[Callable[[datetime.datetime], object]]:
    return (
        lambda t: t.date(),
        lambda t: tuple(t.isocalendar())[:2],
        lambda t: (t.year, t.month),
    )


def retention_plan(names: Iterable[str], *, daily: int, weekly: int, monthly: int) -> Retention:
    """Grandfather-father-son: the newest archive of each of the `daily` most
    recent days that have one, of the `weekly` most recent ISO weeks and of the
    `monthly` most recent months (all in UTC). Names that are not archive
    names are neither kept nor pruned."""
    dated = sorted(
        ((when, name) for name in names if (when := archive_time(name)) is not None),
        reverse=True,
    )
    keep: set[str] = set()
    for count, period in zip((daily, weekly, monthly), _periods(), strict=True):
        seen: set[object] = set()
        for when, name in dated:  # newest first: the first of a period is its newest
            key = period(when)
            if key in seen:
                continue
            if len(seen) >= count:
                break
            seen.add(key)
            keep.add(name)
    ordered = [name for _when, name in dated]
    return Retention(
        keep=[n for n in ordered if n in keep], prune=[n for n in ordered if n not in keep]
    )


def prune(directory: Path, *, daily: int, weekly: int, monthly: int) -> Retention:
    """Delete the archives in `directory` that the retention policy drops."""
    plan = retention_plan(
        (p.name for p in directory.iterdir() if p.is_file()),
        daily=daily,
        weekly=weekly,
        monthly=monthly,
    )
    for name in plan.prune:
        (directory / name).unlink()
    return plan


def remove_stale_partials(directory: Path, now: datetime.datetime) -> list[Path]:
    """Work directories of runs that were killed (a day old or more)."""
    removed = []
    for path in sorted(directory.iterdir()):
        if not PARTIAL_NAME.match(path.name) or not path.is_dir():
            continue
        modified = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.UTC)
        if now - modified >= STALE_PARTIAL:
            shutil.rmtree(path)
            removed.append(path)
    return removed


# -- files -------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _private_dir(path: Path) -> Path:
    """A directory readable by this account only: archives hold every
    household's ID numbers."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def is_within(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


# -- database facts ----------------------------------------------------------------------


def key_tables() -> dict[str, str]:
    """Model label -> table name of the tables counted."""
    return {label: apps.get_model(label)._meta.db_table for label in KEY_TABLES}


def count_rows(cursor: Any, quote: Callable[[str], str]) -> dict[str, int]:
    counts = {}
    for label, table in key_tables().items():
        cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")
        counts[label] = int(cursor.fetchone()[0])
    return counts


def applied_migrations(cursor: Any) -> list[tuple[str, str]]:
    cursor.execute("SELECT app, name FROM django_migrations")
    return [(str(app), str(name)) for app, name in cursor.fetchall()]


@functools.cache
def _loader() -> MigrationLoader:
    # From the files on disk only: what this code knows, whatever the database says.
    return MigrationLoader(None, ignore_no_migrations=True)


def migration_heads(applied: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Per app, the applied migrations that no other applied migration of the
    app follows. Migrations replaced by an applied squash are left out; ones
    this code does not know at all are heads."""
    loader = _loader()
    applied = set(applied)
    replaced = {
        old
        for key, squash in loader.replacements.items()
        if key in applied
        for old in squash.replaces
    }
    heads: dict[str, list[str]] = {}
    for app, name in sorted(applied):
        if (app, name) in replaced:
            continue
        node = loader.graph.node_map.get((app, name))
        children = node.children if node is not None else set()
        if not any(child in applied and child[0] == app for child in children):
            heads.setdefault(app, []).append(name)
    return heads


def unknown_migrations(heads: dict[str, list[str]]) -> list[str]:
    """Heads this code does not have: the archive was made by newer code."""
    known = set(_loader().disk_migrations)
    return [
        f"{app}.{name}"
        for app, names in heads.items()
        for name in names
        if (app, name) not in known
    ]


def migrations_behind(heads: dict[str, list[str]]) -> list[str]:
    """This code's latest migrations the archive has not applied (migrate after restoring)."""
    return sorted(
        f"{app}.{name}"
        for app, name in _loader().graph.leaf_nodes()
        if name not in heads.get(app, [])
    )


def live_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        return count_rows(cursor, connection.ops.quote_name)


# -- SQLite ------------------------------------------------------------------------------


def _sqlite_live() -> tuple[str, float]:
    """The live database as Django opens it (a path, or the URI of the
    in-memory test database) and its busy timeout (relief.env: 20 s)."""
    settings_dict = connection.settings_dict
    return str(settings_dict["NAME"]), float(settings_dict["OPTIONS"].get("timeout", 5))


def _give_up_after(timeout: float) -> Callable[[int, int, int], None]:
    """A progress callback for Connection.backup, which otherwise retries a
    busy or locked database forever: each step already waited the busy
    timeout for the lock, so give up once that much time has passed."""
    deadline = time.monotonic() + timeout
    busy = {getattr(sqlite3, "SQLITE_BUSY", 5), getattr(sqlite3, "SQLITE_LOCKED", 6)}

    def progress(status: int, remaining: int, total: int) -> None:
        if status in busy and time.monotonic() >= deadline:
            raise sqlite3.OperationalError("database is locked")

    return progress


def sqlite_snapshot(database: str, target: Path, *, timeout: float = 5) -> None:
    """Copy a live database with the online backup API.

    All pages in one step: one read transaction, so the copy is one
    consistent state including what sits in the -wal file, while writers
    go on (WAL). The copy is switched to rollback-journal mode so it is a
    single self-contained file."""
    with (
        closing(sqlite3.connect(database, uri=True, timeout=timeout)) as source,
        closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy, progress=_give_up_after(timeout))
        copy.execute("PRAGMA journal_mode=DELETE")


def sqlite_snapshot_facts(path: Path) -> tuple[list[tuple[str, str]], dict[str, int]]:
    with closing(sqlite3.connect(path)) as db:
        cursor = db.cursor()
        return applied_migrations(cursor), count_rows(cursor, _quote_sqlite)


def _quote_sqlite(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sqlite_check(path: Path) -> None:
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            result = db.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as error:
        raise BackupError(
            _("The archived SQLite database cannot be read: %(error)s") % {"error": error}
        ) from None
    if result is None or result[0] != "ok":
        raise BackupError(
            _("The archived SQLite database is damaged: %(error)s") % {"error": result}
        )


def sqlite_restore(source: Path, database: str, *, timeout: float = 5) -> None:
    """Copy `source` over the live database with the backup API.

    Why not a new file put in place with os.replace (and -wal/-shm removed):
    a process that still has the database open (the web server, the worker)
    keeps writing to the old, unlinked file and its -wal, and removing a
    -wal another connection uses can corrupt the database. The backup API
    instead writes through SQLite's own locking and journal: it waits for
    the write lock (busy timeout), replaces every page in one transaction
    (all or nothing, even if killed), keeps the database in WAL mode, and
    every other connection sees the restored database on its next read."""
    with (
        closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as archived,
        closing(sqlite3.connect(database, uri=True, timeout=timeout)) as live,
    ):
        archived.backup(live, progress=_give_up_after(timeout))


# -- PostgreSQL --------------------------------------------------------------------------


def _tool_major(path: str) -> int:
    result = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"\b(\d+)(?:\.\d+)?", result.stdout)
    if result.returncode != 0 or match is None:
        raise BackupError(
            _("%(tool)s --version failed: %(output)s")
            % {"tool": path, "output": (result.stdout + result.stderr).strip()}
        )
    return int(match[1])


def require_tool(name: str, *, at_least: int | None = None) -> str:
    """The path of a PostgreSQL client program, whose major version is at
    least `at_least` (pg_dump refuses newer servers; pg_restore cannot read
    dumps of a newer pg_dump)."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            _(
                "%(tool)s was not found on PATH: install the PostgreSQL client tools "
                "of the server's version (Debian: apt-get install postgresql-client)."
            )
            % {"tool": name}
        )
    if at_least is not None:
        major = _tool_major(path)
        if major < at_least:
            raise BackupError(
                _(
                    "%(tool)s is version %(have)d but version %(need)d or newer is needed: "
                    "install the PostgreSQL %(need)d client tools."
                )
                % {"tool": path, "have": major, "need": at_least}
            )
    return path


def libpq_params(settings_dict: dict[str, Any]) -> dict[str, str]:
    """libpq connection keywords for Django's connection settings, password
    left out (it goes through PGPASSWORD, never on a command line)."""
    params = {
        key: str(value)
        for key, value in settings_dict.get("OPTIONS", {}).items()
        if key not in NOT_LIBPQ and value is not None
    }
    for key, setting in (("dbname", "NAME"), ("user", "USER"), ("host", "HOST"), ("port", "PORT")):
        if settings_dict.get(setting):
            params[key] = str(settings_dict[setting])
    return params


def conninfo(params: dict[str, str]) -> str:
    """A libpq connection string: every value quoted."""

    def quoted(value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return " ".join(f"{key}={quoted(value)}" for key, value in sorted(params.items()))


def _pg_environment(settings_dict: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    return env


def _pg_role(settings_dict: dict[str, Any]) -> list[str]:
    role = settings_dict.get("OPTIONS", {}).get("assume_role")
    return [f"--role={role}"] if role else []


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        raise BackupError(
            _("%(tool)s failed (exit status %(status)d):\n%(output)s")
            % {"tool": Path(command[0]).name, "status": result.returncode, "output": tail}
        )


@contextmanager
def _pg_snapshot(settings_dict: dict[str, Any]) -> Iterator[tuple[Any, str]]:
    """A repeatable-read transaction on its own connection and its exported
    snapshot: pg_dump dumps exactly what this transaction's queries see."""
    import psycopg

    password = {"password": str(settings_dict["PASSWORD"])} if settings_dict.get("PASSWORD") else {}
    with psycopg.connect(conninfo(libpq_params(settings_dict)), autocommit=True, **password) as raw:
        raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            (snapshot,) = raw.execute("SELECT pg_export_snapshot()").fetchone()
            yield raw, str(snapshot)
        finally:
            raw.execute("ROLLBACK")


def pg_dump(target: Path) -> tuple[list[tuple[str, str]], dict[str, int], dict[str, str]]:
    """Dump the database into `target`; the applied migrations, row counts
    and versions read from the dump's own snapshot."""
    settings_dict = connection.settings_dict
    with _pg_snapshot(settings_dict) as (raw, snapshot):
        server = raw.info.server_version
        tool = require_tool("pg_dump", at_least=server // 10000)
        cursor = raw.cursor()
        migrations = applied_migrations(cursor)
        counts = count_rows(cursor, connection.ops.quote_name)
        _run(
            [
                tool,
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--file={target}",
                *_pg_role(settings_dict),
                f"--dbname={conninfo(libpq_params(settings_dict))}",
            ],
            _pg_environment(settings_dict),
        )
    versions = {"server": f"{server // 10000}.{server % 10000}", "pg_dump": str(_tool_major(tool))}
    return migrations, counts, versions


def pg_archive_tables(dump: Path, *, dumped_by: int) -> set[tuple[str, str]]:
    """The tables a custom-format dump holds (and proof pg_restore reads it)."""
    tool = require_tool("pg_restore", at_least=dumped_by)
    result = subprocess.run(
        [tool, "--list", str(dump)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(
            _("pg_restore cannot read the archived dump: %(output)s")
            % {"output": result.stderr.strip()}
        )
    found = re.findall(r"^\d+; \d+ \d+ TABLE (\S+) (\S+) ", result.stdout, flags=re.M)
    return set(found)


def pg_live_tables() -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        return {(str(schema), str(table)) for schema, table in cursor.fetchall()}


def pg_other_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


def pg_restore(dump: Path, *, dumped_by: int) -> None:
    """Replace the database's objects by the dump's, in one transaction:
    any error rolls everything back and the database is as it was."""
    settings_dict = connection.settings_dict
    tool = require_tool("pg_restore", at_least=dumped_by)
    _run(
        [
            tool,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            *_pg_role(settings_dict),
            f"--dbname={conninfo(libpq_params(settings_dict))}",
            str(dump),
        ],
        _pg_environment(settings_dict),
    )


# -- media -------------------------------------------------------------------------------


def pack_media(root: Path, target: Path) -> tuple[int, list[str]]:
    """Tar the directories and regular files under `root` (paths relative to
    it); the number of files, and what was skipped (links, sockets…)."""
    files, skipped = 0, []
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as tar:
        if not root.is_dir():
            return 0, []
        for folder, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in [*dirnames, *sorted(filenames)]:
                path = Path(folder) / name
                relative = path.relative_to(root).as_posix()
                mode = path.lstat().st_mode
                if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
                    tar.add(path, arcname=relative, recursive=False)
                    files += stat.S_ISREG(mode)
                else:
                    skipped.append(relative)
    return files, skipped


def check_media_members(path: Path) -> int:
    """Refuse a media tar with anything but plain files and directories at
    relative paths inside the media folder; the number of files."""
    try:
        with tarfile.open(path, "r:") as tar:
            members = tar.getmembers()
    except (tarfile.TarError, EOFError) as error:
        raise BackupError(
            _("The archived media files cannot be read: %(error)s") % {"error": error}
        ) from None
    for member in members:
        name = PurePosixPath(member.name)
        if (
            name.is_absolute()
            or member.name.startswith("/")
            or ".." in name.parts
            or "\\" in member.name
            or not (member.isfile() or member.isdir())
        ):
            raise BackupError(
                _(
                    "The archived media files hold “%(name)s”, which is not a plain file or "
                    "folder inside the media folder: the archive is refused."
                )
                % {"name": member.name}
            )
    return sum(1 for m in members if m.isfile())


def unpack_media(media_tar: Path, root: Path) -> Path:
    """The archived media in a new folder beside `root` (same file system, so
    it can be renamed into place), with `root`'s permissions."""
    root.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{root.name}.restore-", dir=root.parent))
    try:
        with tarfile.open(media_tar, "r:") as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(fresh, filter="data")
            else:  # members were checked by check_media_members before
                tar.extractall(fresh)
        mode = stat.S_IMODE(root.stat().st_mode) if root.is_dir() else 0o755
        fresh.chmod(mode)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    return fresh


def swap_media(fresh: Path, root: Path) -> None:
    """Put `fresh` in place of `root`; the old folder is removed only once the
    new one is in place (and put back if that fails)."""
    old = None
    if root.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{root.name}.old-", dir=root.parent))
        old.rmdir()
        os.rename(root, old)
    try:
        os.rename(fresh, root)
    except BaseException:
        if old is not None:
            os.rename(old, root)
        raise
    if old is not None:
        shutil.rmtree(old)


# -- archive -----------------------------------------------------------------------------


def _add_file(tar: tarfile.TarFile, name: str, path: Path, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = path.stat().st_size
    info.mtime = mtime
    info.mode = 0o600
    with path.open("rb") as stream:
        tar.addfile(info, stream)


def _member_facts(path: Path) -> dict[str, Any]:
    return {"size": path.stat().st_size, "sha256": sha256_of(path)}


def check_destination(directory: Path) -> None:
    media = Path(settings.MEDIA_ROOT)
    if is_within(directory, media):
        raise BackupError(
            _(
                "The backup folder %(dir)s is inside MEDIA_ROOT %(media)s: every backup "
                "would hold the ones before. Choose a folder outside it."
            )
            % {"dir": directory, "media": media}
        )


def create_backup(directory: Path, *, now: datetime.datetime | None = None) -> Written:
    """Write one archive into `directory` (see the module's docstring)."""
    if connection.vendor not in DUMPS:
        raise BackupError(
            _("Backups support PostgreSQL and SQLite, not %(vendor)s.")
            % {"vendor": connection.vendor}
        )
    if connection.in_atomic_block:
        raise BackupError(_("A backup cannot run inside a database transaction."))
    check_destination(directory)
    now = (now or datetime.datetime.now(datetime.UTC)).astimezone(datetime.UTC)
    now = now.replace(microsecond=0)
    final = _private_dir(directory) / archive_name(now)
    if final.exists():
        raise BackupError(_("%(file)s exists already.") % {"file": final})
    removed = remove_stale_partials(directory, now)
    work = directory / f".{final.stem}.partial"
    work.mkdir(mode=0o700)
    try:
        dump = work / DUMPS[connection.vendor]
        migrations, counts, versions = _dump_database(dump)
        media_files, skipped = pack_media(Path(settings.MEDIA_ROOT), work / MEDIA)
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "vendor": connection.vendor,
            "versions": versions,
            "migrations": migration_heads(migrations),
            "counts": counts,
            "media_files": media_files,
            "members": {name: _member_facts(work / name) for name in (dump.name, MEDIA)},
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), "utf-8")
        _write_archive(work, [MANIFEST, dump.name, MEDIA], final, now)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Written(path=final, manifest=manifest, skipped_media=skipped, removed_partials=removed)


def _dump_database(
    dump: Path,
) -> tuple[list[tuple[str, str]], dict[str, int], dict[str, str]]:
    """The database into `dump`; its applied migrations, row counts and versions."""
    if connection.vendor == "postgresql":
        return pg_dump(dump)
    database, timeout = _sqlite_live()
    try:
        sqlite_snapshot(database, dump, timeout=timeout)
    except sqlite3.Error as error:
        raise BackupError(
            _("The database could not be copied: %(error)s") % {"error": error}
        ) from None
    migrations, counts = sqlite_snapshot_facts(dump)
    return migrations, counts, {"sqlite": sqlite3.sqlite_version}


def _write_archive(work: Path, names: list[str], final: Path, now: datetime.datetime) -> None:
    """The tar of `names` (files in `work`), flushed to disk, then renamed to
    `final` in one step: `final` never exists half-written."""
    partial = work / "archive.tar"
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in names:
            _add_file(tar, name, work / name, now.timestamp())
    with partial.open("rb") as stream:
        os.fsync(stream.fileno())
    partial.chmod(0o600)
    os.replace(partial, final)
    _fsync_dir(final.parent)


def _refuse_corrupt(archive: Path, error: object) -> BackupError:
    return BackupError(
        _("%(file)s is not a complete backup archive (truncated or damaged): %(error)s")
        % {"file": archive, "error": error}
    )


def _read_manifest(tar: tarfile.TarFile, archive: Path) -> dict[str, Any]:
    member = tar.getmember(MANIFEST)
    stream = tar.extractfile(member)
    if stream is None:
        raise _refuse_corrupt(archive, MANIFEST)
    try:
        manifest = json.loads(stream.read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise _refuse_corrupt(archive, error) from None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or not isinstance(manifest.get("members"), dict)
    ):
        raise BackupError(_("%(file)s is not a relief backup archive.") % {"file": archive})
    if manifest.get("version") != VERSION:
        raise BackupError(
            _(
                "%(file)s is a backup of format version %(version)s; "
                "this code reads version %(ours)d."
            )
            % {"file": archive, "version": manifest.get("version"), "ours": VERSION}
        )
    return manifest


def _check_vendor(manifest: dict[str, Any]) -> str:
    vendor = manifest.get("vendor")
    if vendor != connection.vendor:
        raise BackupError(
            _(
                "This archive holds a %(archive)s database; this installation runs on "
                "%(ours)s. Restore it into a %(archive)s installation (see docs/backup.md)."
            )
            % {
                "archive": VENDOR_NAMES.get(str(vendor), str(vendor)),
                "ours": VENDOR_NAMES.get(connection.vendor, connection.vendor),
            }
        )
    return str(vendor)


def _copy_checked(stream: IO[bytes], target: Path, expected: object, name: str) -> None:
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    if expected != {"size": size, "sha256": digest.hexdigest()}:
        raise BackupError(
            _(
                "The archive's %(member)s does not match its checksum in the manifest: "
                "the file was altered or damaged. Nothing was restored."
            )
            % {"member": name}
        )


def verify_archive(archive: Path, workdir: Path) -> Verified:
    """Check `archive` completely and copy its members into `workdir`;
    BackupError says what is wrong. Changes nothing outside `workdir`."""
    if not archive.is_file():
        raise BackupError(_("%(file)s: no such file") % {"file": archive})
    try:
        manifest, vendor = _unpack_checked(archive, workdir)
    except (tarfile.TarError, EOFError) as error:
        raise _refuse_corrupt(archive, error) from None
    heads = manifest.get("migrations")
    if not isinstance(heads, dict) or not all(
        isinstance(names, list) and all(isinstance(n, str) for n in names)
        for names in heads.values()
    ):
        raise BackupError(_("%(file)s is not a relief backup archive.") % {"file": archive})
    _check_migrations(heads)
    verified = Verified(
        archive=archive,
        manifest=manifest,
        workdir=workdir,
        database=workdir / DUMPS[vendor],
        media=workdir / MEDIA,
        media_files=check_media_members(workdir / MEDIA),
        migrate_needed=migrations_behind(heads),
    )
    if vendor == "sqlite":
        sqlite_check(verified.database)
    else:
        _check_pg_target(verified)
    _check_media_root(Path(settings.MEDIA_ROOT))
    return verified


def _unpack_checked(archive: Path, workdir: Path) -> tuple[dict[str, Any], str]:
    """The manifest and vendor, each other member copied into `workdir` and
    matched against its size and SHA-256."""
    with tarfile.open(archive, "r:") as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        if MANIFEST not in names:
            raise _refuse_corrupt(archive, _("no manifest"))
        manifest = _read_manifest(tar, archive)
        vendor = _check_vendor(manifest)
        expected = {DUMPS[vendor], MEDIA}
        if (
            set(manifest["members"]) != expected
            or sorted(names) != sorted([MANIFEST, *expected])
            or not all(m.isfile() for m in members)
        ):
            raise BackupError(
                _("%(file)s holds other members than a backup archive does: %(names)s")
                % {"file": archive, "names": ", ".join(names)}
            )
        for name in sorted(expected):
            stream = tar.extractfile(name)
            if stream is None:
                raise _refuse_corrupt(archive, name)
            _copy_checked(stream, workdir / name, manifest["members"][name], name)
    return manifest, vendor


def _check_migrations(heads: dict[str, list[str]]) -> None:
    unknown = unknown_migrations(heads)
    if unknown:
        raise BackupError(
            _(
                "This archive was made by a newer version of the application: these "
                "migrations are unknown here: %(names)s. Install that version first, "
                "then restore."
            )
            % {"names": ", ".join(unknown)}
        )


def _dumped_by(manifest: dict[str, Any]) -> int:
    """The major version of the pg_dump that made the archive (0: unknown)."""
    versions = manifest.get("versions")
    try:
        return int(versions.get("pg_dump", 0)) if isinstance(versions, dict) else 0
    except (TypeError, ValueError):
        return 0


def _check_pg_target(verified: Verified) -> None:
    archived = pg_archive_tables(verified.database, dumped_by=_dumped_by(verified.manifest))
    extra = sorted(pg_live_tables() - archived)
    if extra:
        # pg_restore --clean drops only what the dump holds: these would stay
        # (and block dropping the tables they reference), and `migrate` would
        # later fail on them.
        raise BackupError(
            _(
                "The database holds tables the archive does not (%(tables)s), probably made by "
                "migrations newer than the archive. Restore into an empty database "
                "(see docs/backup.md: restoring after a failed upgrade)."
            )
            % {"tables": ", ".join(f"{s}.{t}" for s, t in extra[:10])}
        )
    verified.other_sessions = pg_other_sessions()


def _check_media_root(root: Path) -> None:
    if root.is_dir() and os.path.ismount(root):
        raise BackupError(
            _(
                "MEDIA_ROOT %(media)s is a mount point, so it cannot be swapped for the "
                "restored folder: point MEDIA_ROOT at a folder inside the mount."
            )
            % {"media": root}
        )


def restore(verified: Verified) -> dict[str, int]:
    """Put the verified archive in place: the database first (one
    transaction), then the media folder; the row counts afterwards."""
    root = Path(settings.MEDIA_ROOT)
    fresh = unpack_media(verified.media, root)
    try:
        _restore_database(verified)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    swap_media(fresh, root)
    return live_counts()


def _restore_database(verified: Verified) -> None:
    # Django's own connections hold nothing during the restore; they
    # reconnect to the restored database afterwards.
    connections.close_all()
    if verified.manifest["vendor"] == "postgresql":
        pg_restore(verified.database, dumped_by=_dumped_by(verified.manifest))
        return
    database, timeout = _sqlite_live()
    try:
        sqlite_restore(verified.database, database, timeout=timeout)
    except sqlite3.Error as error:
        raise BackupError(
            _("The database could not be restored, it is unchanged: %(error)s") % {"error": error}
        ) from None
