"""Importing members from other platforms: dry run, merge by phone, report, resumable."""

import csv
import io
import zipfile
from datetime import timedelta

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core import uploads
from apps.core.models import Event
from apps.core.spreadsheets import SpreadsheetInvalid, UploadTooLarge
from apps.members import imports
from apps.members.imports import (
    member_import_check,
    member_import_files_purge,
    member_import_report,
    member_import_run,
    member_import_start,
    member_import_summary,
    member_import_upload,
)
from apps.members.models import Member, MemberIdentity, MemberImport
from apps.members.services import member_delete, member_identity_link
from apps.members.tasks import member_import_files_purge_task
from tests.core.factories import UserFactory
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db

HEADER = ["手机号", "姓名", "生日", "用户ID", "积分", "注册时间"]
ROWS = [
    ["13900000001", "林晓", "1992-05-20", "yz-1", "300", "2024-03-01 10:00:00"],  # new
    ["+86 139 0000 0002", "王芳", "1990/01/02", "yz-2", "", ""],  # existing, no name yet: merged
    ["021-68888888", "座机", "", "", "", ""],  # a landline
    ["13900000001", "重复", "", "", "", ""],  # the same phone as row 2
    ["13900000003", "生日错", "1990-13-45", "", "", ""],  # a bad birthday
    ["13900000004", "抢号", "", "yz-taken", "", ""],  # the platform id is someone else's
    ["13900000005", "负积分", "", "", "-5", ""],  # negative points
    ["", "", "", "", "", ""],  # a blank line is skipped
]


def csv_bytes(rows, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADER, *rows])
    return buffer.getvalue().encode(encoding)


@pytest.fixture
def existing():
    member = MemberFactory(phone="13900000002", name="")
    member_identity_link(member=MemberFactory(phone="13700000000"), kind="youzan", value="yz-taken")
    return member


def report_rows(member_import, full_phones=True) -> list[list[str]]:
    report = member_import_report(member_import, full_phones=full_phones)
    return list(csv.reader(io.StringIO(report.lstrip("\ufeff"))))[1:]


def checked_upload(**upload) -> MemberImport:
    """An upload and its dry run, as the job makes it."""
    return member_import_check(import_id=member_import_upload(**upload).pk)


def test_dry_run_counts_and_explains_without_importing(existing):
    checked = checked_upload(file_name="youzan.csv", content=csv_bytes(ROWS), platform="youzan")

    assert checked.total_rows == 7
    assert {k: checked.preview[k] for k in ("created", "merged", "rejected")} == {
        "created": 1,
        "merged": 1,
        "rejected": 5,
    }
    reasons = {row["row"]: row["reason"] for row in checked.preview["rejected_rows"]}
    assert reasons == {
        4: "不是中国大陆手机号",
        5: "与第 2 行手机号相同",
        6: "生日不是有效日期",
        7: "该平台 ID 已属于另一位会员",
        8: "积分必须是不小于 0 的整数",
    }
    assert Member.objects.count() == 2  # nothing imported yet


def test_run_creates_merges_links_and_reports_every_row(
    existing, django_capture_on_commit_callbacks
):
    checked = checked_upload(file_name="youzan.csv", content=csv_bytes(ROWS), platform="youzan")

    with django_capture_on_commit_callbacks(execute=True):
        done = member_import_run(import_id=checked.pk)

    assert done.status == MemberImport.Status.DONE
    new = Member.objects.get(phone="13900000001")
    assert (new.name, str(new.birthday), new.source) == ("林晓", "1992-05-20", "import:youzan")
    assert new.joined_at.year == 2024
    existing.refresh_from_db()
    assert (existing.name, str(existing.birthday)) == ("王芳", "1990-01-02")
    assert set(MemberIdentity.objects.filter(kind="youzan").values_list("value", "member_id")) == {
        ("yz-1", new.pk),
        ("yz-2", existing.pk),
        ("yz-taken", MemberIdentity.objects.get(value="yz-taken").member_id),
    }
    assert member_import_summary(done) == {"created": 1, "merged": 1, "rejected": 5}
    rows = report_rows(done)
    assert [(r[0], r[3]) for r in rows] == [
        ("2", "新建"),
        ("3", "已合并"),
        ("4", "拒绝"),
        ("5", "拒绝"),
        ("6", "拒绝"),
        ("7", "拒绝"),
        ("8", "拒绝"),
    ]
    assert Event.objects.get(name="members_imported").payload["points"] == [[new.pk, 300]]


def test_a_deleted_accounts_phone_comes_back_by_import_as_a_returning_member():
    member_delete(member=MemberFactory(phone="13900000001"))
    rows = [["13900000001", "林晓", "", "", "", ""], ["13900000009", "新客", "", "", "", ""]]
    checked = checked_upload(file_name="old.csv", content=csv_bytes(rows), platform="youzan")

    member_import_run(import_id=checked.pk)

    assert dict(
        Member.objects.filter(phone__in=["13900000001", "13900000009"]).values_list(
            "phone", "returning"
        )
    ) == {"13900000001": True, "13900000009": False}


def test_running_again_imports_nothing_twice(existing):
    checked = checked_upload(file_name="youzan.csv", content=csv_bytes(ROWS), platform="youzan")
    member_import_run(import_id=checked.pk)
    MemberImport.objects.filter(pk=checked.pk).update(status=MemberImport.Status.RUNNING)

    member_import_run(import_id=checked.pk)

    assert Member.objects.count() == 3
    assert Event.objects.filter(name="members_imported").count() == 1


def test_each_chunk_is_planned_for_its_own_phones(monkeypatch):
    """The tables an import reads grow as it goes: a plan made for the first chunk would
    scan them whole for every later one (apps.core.bulk.custom_plans)."""
    monkeypatch.setattr(imports, "CHUNK", 2)
    checked = checked_upload(file_name="youzan.csv", content=csv_bytes(ROWS), platform="youzan")

    with CaptureQueriesContext(connection) as queries:
        member_import_run(import_id=checked.pk)

    planned = [q for q in queries if q["sql"] == "SET LOCAL plan_cache_mode = force_custom_plan"]
    assert len(planned) == checked.chunks.count() > 1


def test_a_run_stopped_half_way_resumes_where_it_stopped(monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 2)
    rows = [[f"1390000{n:04d}", f"会员{n}", "", "", "", ""] for n in range(7)]
    checked = checked_upload(file_name="m.csv", content=csv_bytes(rows), platform="youzan")
    real_import_chunk = imports._import_chunk

    def crash_on_third(member_import, index, chunk):
        if index == 2:
            raise RuntimeError("worker lost")
        real_import_chunk(member_import, index, chunk)

    monkeypatch.setattr(imports, "_import_chunk", crash_on_third)
    with pytest.raises(RuntimeError):
        member_import_run(import_id=checked.pk)
    assert Member.objects.count() == 4

    monkeypatch.setattr(imports, "_import_chunk", real_import_chunk)
    done = member_import_run(import_id=checked.pk)

    assert Member.objects.count() == 7
    assert [row[0] for row in report_rows(done)] == [str(n) for n in range(2, 9)]
    assert member_import_summary(done) == {"created": 7, "merged": 0, "rejected": 0}


def test_gbk_csv_and_xlsx_are_read():
    gbk = checked_upload(
        file_name="tmall.csv", content=csv_bytes(ROWS[:1], "gb18030"), platform="tmall"
    )
    book = openpyxl.Workbook()
    book.active.append(["手机", "姓名"])
    book.active.append([13900000009, "表格会员"])  # Excel keeps phone numbers as numbers
    content = io.BytesIO()
    book.save(content)
    xlsx = checked_upload(file_name="jd.xlsx", content=content.getvalue(), platform="jd")

    assert gbk.preview["created"] == 1
    member_import_run(import_id=xlsx.pk)
    assert Member.objects.get(phone="13900000009").name == "表格会员"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("a.csv", b"", "文件是空的"),
        ("a.csv", "姓名,生日\n林晓,1990-01-01\n".encode(), "手机号"),
    ],
)
def test_unreadable_files_are_marked_invalid_with_a_reason(name, content, reason):
    checked = checked_upload(file_name=name, content=content, platform="youzan")

    assert checked.status == MemberImport.Status.INVALID
    assert reason in checked.error
    assert member_import_start(member_import=checked).status == MemberImport.Status.INVALID
    assert Member.objects.count() == 0


def test_a_file_that_is_not_a_workbook_is_refused_before_it_is_stored():
    with pytest.raises(SpreadsheetInvalid):
        member_import_upload(file_name="a.xlsx", content=b"not a workbook", platform="youzan")
    assert MemberImport.objects.count() == 0


def test_admin_upload_dry_run_import_and_report(
    hq_client, existing, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("youzan.csv", csv_bytes(ROWS), content_type="text/csv")

    with django_capture_on_commit_callbacks(execute=True):
        response = hq_client.post(
            "/admin/members/memberimport/add/", {"upload": upload, "platform": "youzan"}
        )

    member_import = MemberImport.objects.get()
    assert response["Location"] == f"/admin/members/memberimport/{member_import.pk}/change/"
    page = hq_client.get(response["Location"]).content.decode()
    assert "1 位新会员" in page and "立即导入" in page
    with django_capture_on_commit_callbacks(execute=True):
        hq_client.post(f"/admin/members/memberimport/{member_import.pk}/run/")
    member_import.refresh_from_db()
    assert member_import.status == MemberImport.Status.DONE
    report = hq_client.get(f"/admin/members/memberimport/{member_import.pk}/report.csv")
    assert report.content.decode("utf-8-sig").count("\n") == 8


def test_admin_upload_without_a_phone_column_says_why_once_checked(
    hq_client, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("bad.csv", "姓名\n林晓\n".encode(), content_type="text/csv")

    with django_capture_on_commit_callbacks(execute=True):
        response = hq_client.post(
            "/admin/members/memberimport/add/", {"upload": upload, "platform": "youzan"}
        )

    page = hq_client.get(response["Location"]).content.decode()
    assert "无法导入" in page and "手机号" in page and "立即导入" not in page
    assert MemberImport.objects.get().status == MemberImport.Status.INVALID


# The dry run runs in the worker; uploads are bounded


def test_the_web_request_stores_the_upload_and_the_job_makes_the_dry_run(
    hq_client, existing, monkeypatch, django_capture_on_commit_callbacks
):
    read = []
    real_read_rows = imports.read_rows
    monkeypatch.setattr(imports, "read_rows", lambda *a: read.append(a) or real_read_rows(*a))
    upload = SimpleUploadedFile("youzan.csv", csv_bytes(ROWS), content_type="text/csv")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = hq_client.post(
            "/admin/members/memberimport/add/", {"upload": upload, "platform": "youzan"}
        )
    waiting = hq_client.get(response["Location"]).content.decode()

    member_import = MemberImport.objects.get()
    assert (member_import.status, read, len(callbacks)) == (MemberImport.Status.CHECKING, [], 1)
    assert "正在检查…" in waiting and 'http-equiv="refresh"' in waiting
    assert "立即导入" not in waiting

    callbacks[0]()  # after commit: the check task, run in-process in tests

    member_import.refresh_from_db()
    assert member_import.status == MemberImport.Status.CHECKED and len(read) == 1
    page = hq_client.get(response["Location"]).content.decode()
    assert "1 位新会员" in page and "立即导入" in page and 'http-equiv="refresh"' not in page


def test_checking_again_changes_nothing(existing):
    checked = checked_upload(file_name="youzan.csv", content=csv_bytes(ROWS), platform="youzan")
    MemberImport.objects.filter(pk=checked.pk).update(preview={"created": 99})

    again = member_import_check(import_id=checked.pk)

    assert (again.status, again.preview) == (MemberImport.Status.CHECKED, {"created": 99})


@pytest.mark.parametrize(
    ("language", "message"),
    [("zh-hans", "最多只能上传 1000"), ("en", "files of at most 1000")],
)
def test_an_upload_too_large_is_refused_in_the_users_language_and_nothing_is_stored(
    hq_client, settings, language, message
):
    settings.UPLOAD_MAX_BYTES = 1000
    upload = SimpleUploadedFile("big.csv", b"x" * 1001, content_type="text/csv")

    response = hq_client.post(
        "/admin/members/memberimport/add/",
        {"upload": upload, "platform": "youzan"},
        headers={"accept-language": language},
    )

    assert response.status_code == 200  # the form again, with the reason
    assert message in response.content.decode()
    assert MemberImport.objects.count() == 0


def test_the_service_refuses_too_large_an_upload_too(settings):
    settings.UPLOAD_MAX_BYTES = 1000

    with pytest.raises(UploadTooLarge):
        member_import_upload(file_name="big.csv", content=b"x" * 1001, platform="youzan")
    assert MemberImport.objects.count() == 0


def test_an_xlsx_zip_bomb_is_refused_at_upload_and_nothing_is_stored(hq_client):
    book = io.BytesIO()
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (40 * 1024 * 1024))
    upload = SimpleUploadedFile("bomb.xlsx", book.getvalue())

    response = hq_client.post(
        "/admin/members/memberimport/add/", {"upload": upload, "platform": "youzan"}
    )

    assert response.status_code == 200 and "解压后将超过" in response.content.decode()
    assert MemberImport.objects.count() == 0


# Reports: safe cells, full phones only with the permission


def test_a_report_neutralises_formulas_and_masks_phones_without_the_permission(existing):
    rows = [["13900000007", '=HYPERLINK("http://evil.example","点我")', "", "", "", ""]]
    checked = checked_upload(file_name="m.csv", content=csv_bytes(rows), platform="youzan")
    member_import_run(import_id=checked.pk)

    full = report_rows(checked, full_phones=True)
    masked = report_rows(checked, full_phones=False)

    assert full[0][1:3] == ["13900000007", '\'=HYPERLINK("http://evil.example","点我")']
    assert masked[0][1:3] == ["139****0007", '\'=HYPERLINK("http://evil.example","点我")']


def test_the_console_report_shows_full_phones_only_to_those_with_the_permission(client, existing):
    checked = checked_upload(file_name="youzan.csv", content=csv_bytes(ROWS), platform="youzan")
    member_import_run(import_id=checked.pk)
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_memberimport"))
    client.force_login(staff)
    url = f"/admin/members/memberimport/{checked.pk}/report.csv"

    masked = client.get(url).content.decode("utf-8-sig")
    staff.user_permissions.add(Permission.objects.get(codename="view_member_phone"))
    full = client.get(url).content.decode("utf-8-sig")

    assert "13900000001" not in masked and "139****0001" in masked
    assert "13900000001" in full


def test_the_dry_run_keeps_masked_phones_only():
    rows = [["13900000001", "林晓", "1990-13-45", "", "", ""]]

    checked = checked_upload(file_name="m.csv", content=csv_bytes(rows), platform="youzan")

    assert checked.preview["rejected_rows"] == [
        {"row": 2, "phone": "139****0001", "reason": "生日不是有效日期"}
    ]


def test_the_members_csv_export_neutralises_formulas(hq_client):
    member = MemberFactory(name='=HYPERLINK("http://evil.example","点我")')

    response = hq_client.post(
        "/admin/members/member/", {"action": "export_csv", "_selected_action": [member.pk]}
    )

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    [row] = list(csv.reader(io.StringIO(text)))[1:]
    assert row[2] == '\'=HYPERLINK("http://evil.example","点我")'


# Uploaded files are deleted after the retention period


def test_old_upload_files_are_deleted_in_batches_and_reports_stay(monkeypatch, settings):
    settings.IMPORT_FILE_RETENTION_DAYS = 30
    monkeypatch.setattr(uploads, "BATCH", 1)
    old_done, old_checked, old_running, recent = (
        checked_upload(file_name=f"{n}.csv", content=csv_bytes(ROWS[:1]), platform="youzan")
        for n in range(4)
    )
    member_import_run(import_id=old_done.pk)
    MemberImport.objects.filter(pk=old_running.pk).update(status=MemberImport.Status.RUNNING)
    MemberImport.objects.exclude(pk=recent.pk).update(
        created_at=timezone.now() - timedelta(days=31)
    )

    member_import_files_purge_task.delay()

    kept = {
        m.pk: (bytes(m.content) != b"", m.file_deleted_at is not None)
        for m in MemberImport.objects.all()
    }
    assert kept == {
        old_done.pk: (False, True),
        old_checked.pk: (False, True),
        old_running.pk: (True, False),  # being imported now: its file is still needed
        recent.pk: (True, False),
    }
    assert len(report_rows(old_done)) == 1  # the report outlives the file
    old_checked.refresh_from_db()
    assert member_import_start(member_import=old_checked).status == MemberImport.Status.CHECKED
    assert member_import_files_purge() == 0  # running again finds nothing to do


def test_an_upload_whose_check_and_run_were_lost_is_resumed_and_imports_once(
    existing, django_capture_on_commit_callbacks
):
    from apps.members.imports import member_imports_resume
    from apps.members.tasks import member_import_check_task, member_import_run_task
    from tests.core.jobs import broker_down

    def resume_later():
        MemberImport.objects.update(created_at=timezone.now() - timedelta(minutes=6))
        return member_imports_resume()

    lost = (member_import_check_task, member_import_run_task)
    with broker_down(*lost), django_capture_on_commit_callbacks(execute=True):
        upload = member_import_upload(
            file_name="youzan.csv", content=csv_bytes(ROWS), platform="youzan"
        )
    assert member_imports_resume() == 0  # just uploaded: its task may still be on its way
    assert resume_later() == 1
    upload.refresh_from_db()
    assert upload.status == MemberImport.Status.CHECKED

    with broker_down(*lost), django_capture_on_commit_callbacks(execute=True):
        member_import_start(member_import=upload)
    assert MemberImport.objects.get(pk=upload.pk).status == MemberImport.Status.RUNNING
    assert resume_later() == 1
    assert resume_later() == 0

    assert MemberImport.objects.get(pk=upload.pk).status == MemberImport.Status.DONE
    assert Member.objects.count() == 3
    assert Event.objects.filter(name="members_imported").count() == 1


def test_a_run_sent_again_while_a_worker_runs_the_upload_is_left_to_that_worker(existing):
    from tests.core.jobs import run_elsewhere

    checked = checked_upload(file_name="youzan.csv", content=csv_bytes(ROWS), platform="youzan")

    with run_elsewhere("members.memberimport", checked.pk):
        assert member_import_run(import_id=checked.pk).status == MemberImport.Status.CHECKED
    assert Member.objects.count() == 2

    assert member_import_run(import_id=checked.pk).status == MemberImport.Status.DONE
    assert member_import_run(import_id=checked.pk).status == MemberImport.Status.DONE
    assert Member.objects.count() == 3
    assert Event.objects.filter(name="members_imported").count() == 1
