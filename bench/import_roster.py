"""Benchmark: importing a 20,000-row roster through the real services.

    python bench/import_roster.py                   # SQLite, in bench/.data/
    python bench/import_roster.py --database-url postgres://postgres@127.0.0.1:5432/relief_bench_import
    python bench/import_roster.py --rows 5000 --repeats 1 --profile

The roster is an .xlsx written once (bench/.data/roster-<rows>.xlsx) as a
township would send it: a title row, a header row, then one row per household
with 序号, 姓名, 身份证号 (as text), 村/社区 (three villages), 类别, 人口,
致困原因, 联系电话, 金额 (as "600元"). No one on it is on file yet, so every row
makes a household, its head and a draft application.

Measured, each `--repeats` times (the median is reported), wall clock and this
process's CPU time:

- baseline: a bare read of the same file with python-calamine (`to_python()`
  of the sheet), the floor of any import of it;
- preview: `services.preview` (read, find the header, read every cell, check
  against the register and the rules, assess, keep the summary);
- import: `services.carry_out` (read, plan again inside the transaction,
  write households, people, their history rows, applications and one audit
  event each, commit).

Then one more import, timed in its parts (the real functions wrapped with a
clock): reading the file, the plan made again, the writes, the commit (on
PostgreSQL the deferred foreign-key checks run there). On SQLite the INSERTs
that import sent are kept and replayed once more, bare, in a transaction
rolled back: the database's own share, a floor no Python change goes below.

Every run is verified (counts of households, people and applications made)
and then undone with plain DELETEs, so each run starts from the same state.
Prints a table and writes bench/results/import_roster-<database>-<time>.json.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import io
import json
import pstats
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from harness import ROOT, Clock, Timing, configure, median

TOWNSHIP = "130123100000"  # 城关镇 of the demo county, with three villages
NAME = "基准：名册导入"


def clerk():
    from relief.choices import Role
    from relief.models import Area, RoleAssignment, User

    township = Area.objects.get(code=TOWNSHIP)
    user, created = User.objects.get_or_create(
        username="bench-clerk", defaults={"name": "基准录入员", "area": township}
    )
    if created:
        user.set_unusable_password()
        user.save()
        RoleAssignment.objects.create(user=user, role=Role.TOWNSHIP_CLERK, area=township)
    return User.objects.get(pk=user.pk)


def campaign():
    from django.utils import timezone

    from campaigns.choices import CampaignStatus
    from campaigns.models import Campaign, CampaignKind, Category, FundSource
    from relief import demo
    from relief.models import Area

    found = Campaign.objects.filter(name=NAME).first()
    if found is not None:
        return found
    demo.ensure_areas()
    today = timezone.localdate()
    kind, _created = CampaignKind.objects.get_or_create(name="春节慰问")
    made = Campaign.objects.create(
        name=NAME,
        issuer="城关镇人民政府",
        area=Area.objects.get(code=TOWNSHIP),
        year=today.year,
        kind=kind,
        status=CampaignStatus.OPEN,
        published_on=today - datetime.timedelta(days=1),
    )
    source = FundSource.objects.create(
        campaign=made, name="镇财政", payer="城关镇财政所", budget=10**9
    )
    Category.objects.create(campaign=made, name="困难家庭", cash=600, fund_source=source)
    return made


def roster(rows: int) -> bytes:
    """The roster file (made once and kept)."""
    path = ROOT / f"bench/.data/roster-{rows}.xlsx"
    if not path.exists():
        import xlsxwriter

        from relief import idnumber
        from relief.models import Area

        villages = list(
            Area.objects.filter(parent__code=TOWNSHIP)
            .order_by("code")
            .values_list("name", flat=True)
        )
        book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        sheet = book.add_worksheet("名册")
        sheet.write_row(0, 0, ["城关镇春节慰问对象名册"])
        header = [
            "序号",
            "姓名",
            "身份证号",
            "村/社区",
            "类别",
            "人口",
            "致困原因",
            "联系电话",
            "金额",
        ]
        sheet.write_row(1, 0, header)
        for n in range(rows):
            born = datetime.date(1940, 1, 1) + datetime.timedelta(days=n // 400)
            sheet.write_row(
                n + 2,
                0,
                [
                    n + 1,
                    f"名册户主{n + 1}",
                    # Born 1940 onwards in a county code no other bench uses.
                    idnumber.make("130124", born, (n % 400) * 2 + 1),
                    villages[n % len(villages)],
                    "困难家庭",
                    n % 5 + 1,
                    "疾病",
                    f"138{n:08d}",
                    "600元",
                ],
            )
        book.close()
    return path.read_bytes()


def undo(made, roster_pks: list[int]) -> None:
    """Delete what the runs made, with plain SQL (the ORM's cascade collection
    would take longer than the import)."""
    from django.db import connection, transaction

    from applications.models import Application, RosterImport
    from recipients.models import Household, Person
    from relief.models import AuditEvent

    numbers = f"{'130124'}%"
    with transaction.atomic(), connection.cursor() as cursor:
        a = Application._meta.db_table
        h, p = Household._meta.db_table, Person._meta.db_table
        hh, hp = Household.history.model._meta.db_table, Person.history.model._meta.db_table
        cursor.execute(
            f"DELETE FROM {AuditEvent._meta.db_table} WHERE action LIKE 'application.%%' "
            f"AND target_id IN (SELECT CAST(id AS varchar(64)) FROM {a} WHERE campaign_id = %s)",
            [made.pk],
        )
        cursor.execute(f"DELETE FROM {a} WHERE campaign_id = %s", [made.pk])
        cursor.execute(f"DELETE FROM {hp} WHERE id_number LIKE %s", [numbers])
        cursor.execute(
            f"DELETE FROM {hh} WHERE id IN (SELECT household_id FROM {p} WHERE id_number LIKE %s)",
            [numbers],
        )
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_gone AS "
            f"SELECT household_id AS id FROM {p} WHERE id_number LIKE %s",
            [numbers],
        )
        cursor.execute(f"DELETE FROM {p} WHERE id_number LIKE %s", [numbers])
        cursor.execute(f"DELETE FROM {h} WHERE id IN (SELECT id FROM bench_gone)")
        cursor.execute("DROP TABLE bench_gone")
    RosterImport.objects.filter(pk__in=roster_pks).update(status="uploaded")


# A bulk INSERT as relief.bulk sends it on SQLite: table, columns, width, rows.
Kept = tuple[str, str, int, list]


@contextmanager
def parts(seconds: dict[str, float], statements: list[Kept]) -> Iterator[None]:
    """Clock carry_out's parts by wrapping the functions it calls; keep the
    rows of every bulk INSERT on SQLite in `statements`."""
    from django.db import connection

    from applications.roster import check, services, write
    from relief import bulk

    def clocked(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            clock = Clock()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[label] += clock.stop().seconds

        return run

    insert_sqlite = bulk._insert_sqlite

    def kept(cursor: Any, table: str, columns: str, width: int, rows: Any) -> int:
        rows = list(rows)
        statements.append((table, columns, width, rows))
        return insert_sqlite(cursor, table, columns, width, rows)

    patched = [
        (services, "_table", "read the file"),
        (check, "plan", "plan again, in the transaction"),
        (write, "write", "write"),
        (connection, "commit", "commit"),
    ]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _label in patched]
    for owner, name, label in patched:
        setattr(owner, name, clocked(label, getattr(owner, name)))
    bulk._insert_sqlite = kept
    try:
        yield
    finally:
        bulk._insert_sqlite = insert_sqlite
        for owner, name, original in originals:
            if owner is connection:
                delattr(connection, name)  # the class's method again
            else:
                setattr(owner, name, original)


def replay(statements: list[Kept]) -> Timing:
    """The kept rows INSERTed again as the import sent them, in a transaction
    rolled back."""
    from django.db import connection, transaction

    from relief import bulk

    with transaction.atomic():
        clock = Clock()
        with connection.cursor() as cursor:
            for table, columns, width, rows in statements:
                bulk._insert_sqlite(cursor, table, columns, width, rows)
        took = clock.stop()
        transaction.set_rollback(True)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile one more import")
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: sqlite:///bench/.data/import-roster.sqlite3 (never the app's own database)",
    )
    args = parser.parse_args()
    url = args.database_url or "sqlite:///bench/.data/import-roster.sqlite3"
    (ROOT / "bench/.data").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench/results").mkdir(parents=True, exist_ok=True)
    configure(url)

    import python_calamine
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import connection

    from applications.models import Application
    from applications.roster import services
    from recipients.models import Household

    call_command("migrate", verbosity=0)
    made, actor = campaign(), clerk()
    content = roster(args.rows)
    undo(made, [])
    print(
        f"\n{connection.vendor}, a roster of {args.rows:,} rows "
        f"({len(content) / 2**20:.1f} MB), {args.repeats} runs\n"
    )

    reads, previews, imports, pks = [], [], [], []
    for _run in range(args.repeats):
        clock = Clock()
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
        rows = book.get_sheet_by_index(0).to_python()
        reads.append(clock.stop())
        assert len(rows) == args.rows + 2

        upload = services.upload(actor, made, SimpleUploadedFile("roster.xlsx", content))
        pks.append(upload.pk)
        clock = Clock()
        plan = services.preview(actor, upload)
        previews.append(clock.stop())
        assert plan is not None and plan.counts()["new"] == args.rows, plan and plan.counts()

        households = Household.objects.count()
        clock = Clock()
        result = services.carry_out(actor, upload, valid_only=False)
        imports.append(clock.stop())
        assert result["applications"] == args.rows == result["households"], result
        assert Application.objects.filter(campaign=made).count() == args.rows
        assert Household.objects.count() == households + args.rows
        undo(made, pks)

    seconds: dict[str, float] = defaultdict(float)
    statements: list[Kept] = []
    upload = services.upload(actor, made, SimpleUploadedFile("roster.xlsx", content))
    services.preview(actor, upload)
    with parts(seconds, statements):
        clock = Clock()
        services.carry_out(actor, upload, valid_only=False)
        whole = clock.stop()
    undo(made, [upload.pk])
    sqlite = connection.vendor == "sqlite"
    inserted = sum(len(rows) for *_about, rows in statements) if sqlite else None
    floor = replay(statements) if sqlite else None

    if args.profile:
        upload = services.upload(actor, made, SimpleUploadedFile("roster.xlsx", content))
        services.preview(actor, upload)
        profile = cProfile.Profile()
        profile.enable()
        services.carry_out(actor, upload, valid_only=False)
        profile.disable()
        undo(made, [upload.pk])
        stats = io.StringIO()
        pstats.Stats(profile, stream=stats).sort_stats("cumulative").print_stats(30)
        print(stats.getvalue())

    base = median(reads)
    table = [
        ("baseline: python-calamine bare read", base),
        ("preview (dry run): read, check, assess", median(previews)),
        ("import: read, check again, write, commit", median(imports)),
    ]
    print(f"{'':44} {'wall s':>8} {'× base':>7} {'cpu s':>8}")
    for label, t in table:
        print(f"{label:44} {t.seconds:8.3f} {t.seconds / base.seconds:7.1f} {t.cpu:8.3f}")
    print(f"\none more import, in parts ({whole.seconds:.3f} s in all):")
    for label, took in seconds.items():
        print(f"  {label:42} {took:8.3f} {took / base.seconds:7.1f}")
    if floor is not None:
        print(
            f"  {'its ' + format(inserted, ',') + ' rows INSERTed again, bare':42} "
            f"{floor.seconds:8.3f} {floor.seconds / base.seconds:7.1f}"
        )
        print(
            f"floor of any import writing these rows: read + INSERTs = "
            f"{(base.seconds + floor.seconds) / base.seconds:.1f}× the bare read"
        )
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = ROOT / f"bench/results/import_roster-{connection.vendor}-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "rows": args.rows,
                "repeats": args.repeats,
                "results": [
                    {
                        "label": label,
                        "seconds": t.seconds,
                        "cpu": t.cpu,
                        "ratio": t.seconds / base.seconds,
                    }
                    for label, t in table
                ],
                "parts": {"whole": whole.seconds, **seconds},
                "rows_inserted": inserted,
                "bare_inserts": floor.seconds if floor else None,
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
