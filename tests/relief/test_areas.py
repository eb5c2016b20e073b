"""Areas: added one by one or from a code table, inside the administrator's reach."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from openpyxl import Workbook

from relief import area_import, services
from relief.models import Area, AuditEvent

IMPORT = reverse("area_import")


def csv_file(text: str, name: str = "areas.csv", encoding: str = "utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def xlsx_file(rows: list[list[object]], name: str = "areas.xlsx") -> SimpleUploadedFile:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def test_it_derives_level_and_parent_from_the_code(people, areas):
    village = services.create_area(people.admin, code="130123100203", name="北关村")
    assert village.level == "village" and village.parent == areas.t1
    assert AuditEvent.objects.filter(action="area.create", target_repr="北关村").exists()


def test_it_refuses_a_village_whose_township_is_missing(people, areas):
    with pytest.raises(services.AdministrationError, match="130123300000"):
        services.create_area(people.admin, code="130123300201", name="孤村")


def test_it_refuses_an_area_outside_the_administrators_reach(people, areas):
    with pytest.raises(PermissionDenied):
        services.create_area(
            people.admin_t2, code="130123100203", name="北关村"
        )  # T1 is not theirs
    with pytest.raises(PermissionDenied):
        services.create_area(people.admin, code="130124000000", name="邻县")  # a new top-level area


def test_it_previews_then_imports_a_table_with_a_title_row(client, people, areas):
    client.force_login(people.admin)
    table = (
        "2026年统计用区划代码表\n"
        "\n"
        "统计用区划代码,城乡分类代码,名称\n"
        "130123300000,,新城镇\n"
        "130123300201,220,新城村\n"
        "130123100201,220,东关村（更名）\n"
        "130123100202,220,西关村\n"
    )
    preview = client.post(IMPORT, {"file": csv_file(table)})
    assert preview.status_code == 200
    plan = preview.context["plan"]
    assert [r.code for r in plan.create] == ["130123300000", "130123300201"]
    assert [(r.code, old) for r, old in plan.rename] == [("130123100201", "东关村")]
    assert plan.unchanged == 1 and plan.ok
    assert not Area.objects.filter(code="130123300000").exists()  # a preview writes nothing

    done = client.post(IMPORT, {"token": preview.context["token"]})
    assert done.status_code == 302
    assert Area.objects.get(code="130123300201").parent.code == "130123300000"
    assert Area.objects.get(code="130123100201").name == "东关村（更名）"
    event = AuditEvent.objects.get(action="area.import")
    assert event.actor == people.admin and event.data["created"] == 2
    assert event.data["renamed"] == [["130123100201", "东关村", "东关村（更名）"]]


def test_it_reports_every_bad_row_with_its_number_and_imports_nothing(client, people, areas):
    client.force_login(people.admin)
    table = (
        "代码,名称\n"
        "130123300000,新城镇\n"  # row 2
        "13012330020,短码村\n"  # row 3: 11 digits
        "130123400201,无乡村\n"  # row 4: its township is nowhere
        "130123300000,重复镇\n"  # row 5: same code as row 2
        "130123300202,\n"  # row 6: no name
    )
    preview = client.post(IMPORT, {"file": csv_file(table)})
    errors = dict(preview.context["plan"].errors)
    assert set(errors) == {3, 4, 5, 6}
    assert "12位" in errors[3]
    assert "130123400000" in errors[4]
    assert "第 2 行重复" in errors[5]
    assert "名称为空" in errors[6]
    assert "未导入任何数据" in preview.text
    assert 'name="token"' not in preview.text  # no way to confirm a plan with errors
    assert not Area.objects.filter(code="130123300000").exists()


def test_it_reads_excel_with_numeric_codes(people, areas):
    upload = xlsx_file(
        [
            ["区划代码表"],
            ["统计用区划代码", "名称"],
            [130123300000, "新城镇"],
            [130123300201.0, "新城村"],
        ]
    )
    rows = area_import.read_rows(upload, upload.name)
    assert [(r.line, r.code, r.name) for r in rows] == [
        (3, "130123300000", "新城镇"),
        (4, "130123300201", "新城村"),
    ]


def test_it_reads_gbk_csv_from_chinese_excel(people, areas):
    rows = area_import.read_rows(
        io.BytesIO("代码,名称\n130123300000,新城镇\n".encode("gb18030")), "a.csv"
    )
    assert rows[0].name == "新城镇"


@pytest.mark.parametrize(
    "upload, message",
    [
        (SimpleUploadedFile("areas.txt", b"x"), "请上传 .csv 或 .xlsx 文件"),
        (SimpleUploadedFile("areas.xlsx", b"not a zip"), "不是可读取的 .xlsx 工作簿"),
        (SimpleUploadedFile("areas.csv", "名字,其他\n1,2\n".encode()), "找不到表头"),
    ],
)
def test_it_explains_an_unreadable_file(client, people, areas, upload, message):
    client.force_login(people.admin)
    response = client.post(IMPORT, {"file": upload})
    assert response.status_code == 200
    assert message in response.text


def test_it_refuses_rows_outside_the_administrators_reach(client, people, areas):
    client.force_login(people.admin_t2)
    preview = client.post(
        IMPORT, {"file": csv_file("代码,名称\n130123100203,北关村\n130123200202,石桥村\n")}
    )
    plan = preview.context["plan"]
    assert [r.code for r in plan.create] == ["130123200202"]
    assert dict(plan.errors) == {2: "130123100203 不在您管理的区划范围内。"}


def test_it_refuses_a_token_from_someone_elses_session(client, people, areas):
    client.force_login(people.admin)
    preview = client.post(IMPORT, {"file": csv_file("代码,名称\n130123300000,新城镇\n")})
    token = preview.context["token"]
    client.logout()
    client.force_login(people.admin_t2)
    response = client.post(IMPORT, {"token": token}, follow=True)
    assert "上传的文件已失效" in response.text
    assert not Area.objects.filter(code="130123300000").exists()


def test_it_imports_the_same_file_from_the_command_line(tmp_path, areas, capsys):
    path = tmp_path / "codes.csv"
    path.write_text("代码,名称\n130123300000,新城镇\n130123300201,新城村\n", encoding="utf-8")
    call_command("import_areas", str(path))
    assert Area.objects.get(code="130123300201").parent.code == "130123300000"
    assert "新增 2" in capsys.readouterr().out


def test_it_exits_non_zero_and_imports_nothing_from_a_bad_file(tmp_path, areas, capsys):
    path = tmp_path / "codes.csv"
    path.write_text("代码,名称\n130123300000,新城镇\n1301,坏码\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        call_command("import_areas", str(path))
    assert exited.value.code == 1
    assert "第 3 行" in capsys.readouterr().err
    assert not Area.objects.filter(code="130123300000").exists()


def test_it_attaches_an_existing_top_level_county_to_a_city_imported_later(people, areas):
    plan = area_import.plan(people.superuser, [area_import.AreaRow(2, "130100000000", "石家庄市")])
    area_import.apply(people.superuser, plan, source="test")
    areas.county.refresh_from_db()
    assert areas.county.parent.code == "130100000000"


def test_it_attaches_a_county_to_a_city_added_by_hand(people, areas):
    services.create_area(people.superuser, code="130100000000", name="石家庄市")
    areas.county.refresh_from_db()
    assert areas.county.parent.code == "130100000000"


def test_it_imports_a_province_sized_table_in_a_few_queries(
    people, areas, django_assert_max_num_queries
):
    """12,000 townships and villages under existing and new parents: the
    database is read in batches and written in bulk, not once per row."""
    rows, line = [], 2
    for t in range(300, 700):  # 400 new townships
        rows.append(area_import.AreaRow(line, f"130123{t:03d}000", f"镇{t}"))
        line += 1
        for v in range(200, 229):  # 29 villages each
            rows.append(area_import.AreaRow(line, f"130123{t:03d}{v:03d}", f"村{t}-{v}"))
            line += 1
    plan = area_import.plan(people.superuser, rows)
    assert plan.ok and len(plan.create) == 12_000
    with django_assert_max_num_queries(60):
        area_import.apply(people.superuser, plan, source="test")
    village = Area.objects.select_related("parent").get(code="130123699228")
    assert village.level == "village" and village.parent.code == "130123699000"
    assert village.parent.parent == areas.county


def test_it_renames_an_area_with_an_audit_event(client, people, areas):
    client.force_login(people.admin)
    response = client.post(
        reverse("area_edit", args=[areas.a.pk]), {"name": "东关社区", "reason": "村改居"}
    )
    assert response.status_code == 302
    areas.a.refresh_from_db()
    assert areas.a.name == "东关社区"
    event = AuditEvent.objects.get(action="area.rename")
    assert (event.from_state, event.to_state, event.reason) == ("东关村", "东关社区", "村改居")
