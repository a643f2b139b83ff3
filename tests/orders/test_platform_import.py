"""Platform order exports: matched to members, earning once however often imported."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.core.spreadsheets import UploadTooLarge
from apps.members.services import member_delete, member_identity_link
from apps.orders import imports
from apps.orders.imports import (
    order_import_check,
    order_import_files_purge,
    order_import_report,
    order_import_run,
    order_import_start,
    order_import_upload,
)
from apps.orders.models import Order, OrderImport
from apps.orders.tasks import order_import_files_purge_task
from apps.points.models import EarningRule, Entry
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db

EXPORT = """订单号,买家ID,收货人手机号,商品编码,商品名称,数量,实付金额,付款时间
YZ001,,13900000001,SKU1,T恤,3,100.00,2026-10-01 10:00:00
YZ001,,13900000001,SKU2,袜子,1,20.00,2026-10-01 10:00:00
YZ002,yz-buyer-9,138****0000,SKU1,T恤,1,59.90,2026-10-02 11:00
YZ003,,,SKU3,帽子,1,35,2026/10/03 12:00
YZ004,,13900000002,SKU3,帽子,1,abc,2026-10-04 12:00
"""


@pytest.fixture
def setup(db):
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    by_phone = MemberFactory(phone="13900000001")
    by_id = MemberFactory(phone="13900000003")
    member_identity_link(member=by_id, kind="youzan", value="yz-buyer-9")
    return {"store": StoreFactory(code="S777"), "by_phone": by_phone, "by_id": by_id}


def check(setup, content=EXPORT):
    """An upload and its dry run, as the job makes it."""
    upload = order_import_upload(
        file_name="youzan.csv",
        content=content.encode("utf-8-sig"),
        platform="youzan",
        store=setup["store"],
    )
    return order_import_check(import_id=upload.pk)


def test_the_dry_run_counts_and_imports_nothing(setup):
    upload = check(setup)

    assert upload.total_orders == 4
    assert {k: upload.preview[k] for k in ("member", "non_member", "already", "rejected")} == {
        "member": 2,
        "non_member": 1,
        "already": 0,
        "rejected": 1,
    }
    assert upload.preview["rejected_orders"][0]["order"] == "YZ004"
    assert not Order.objects.exists()


def test_orders_are_matched_priced_as_paid_and_earn_once(setup):
    first = order_import_run(import_id=check(setup).pk)
    again = order_import_run(import_id=check(setup).pk)

    yz1 = Order.objects.get(external_id="YZ001")
    assert (yz1.member, yz1.payable, yz1.channel) == (
        setup["by_phone"],
        Decimal("120.00"),
        "platform:youzan",
    )
    assert sorted(yz1.lines.values_list("quantity", "unit_price")) == [
        (1, Decimal("20.00")),
        (1, Decimal("33.34")),
        (2, Decimal("33.33")),
    ]
    assert Order.objects.get(external_id="YZ002").member == setup["by_id"]
    assert Order.objects.get(external_id="YZ003").member is None
    assert yz1.paid_at.date().isoformat() == "2026-10-01"
    assert first.counts == {"member": 2, "non_member": 1, "rejected": 1}
    assert again.counts == {"already": 3, "rejected": 1}
    assert Order.objects.count() == 3
    assert Entry.objects.filter(kind="earn").count() == 2
    report = order_import_report(first)
    assert "YZ004,6,拒绝,金额或数量不是有效数字" in report
    assert "已导入（会员）,,139****0001" in report


def test_a_stopped_import_goes_on_from_the_last_order_done(setup):
    upload = check(setup)
    OrderImport.objects.filter(pk=upload.pk).update(status="running", done=2)

    order_import_run(import_id=upload.pk)

    assert set(Order.objects.values_list("external_id", flat=True)) == {"YZ003"}


def test_a_file_without_order_numbers_cannot_be_imported(setup):
    upload = check(setup, "手机号,实付金额\n13900000001,10\n")

    assert upload.status == OrderImport.Status.INVALID and "订单号" in upload.error
    assert order_import_start(order_import=upload).status == OrderImport.Status.INVALID
    assert not Order.objects.exists()


def test_hq_uploads_and_runs_an_import_in_the_console(
    setup, hq_client, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("orders.csv", EXPORT.encode("utf-8-sig"))

    with django_capture_on_commit_callbacks(execute=True):
        added = hq_client.post(
            "/admin/orders/orderimport/add/",
            {"upload": upload, "platform": "youzan", "store": setup["store"].pk},
        )
    order_import = OrderImport.objects.get()
    page = hq_client.get(f"/admin/orders/orderimport/{order_import.pk}/change/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        hq_client.post(f"/admin/orders/orderimport/{order_import.pk}/run/")
    report = hq_client.get(f"/admin/orders/orderimport/{order_import.pk}/report.csv")

    assert added.status_code == 302 and "拒绝 1 笔" in page
    assert OrderImport.objects.get().status == "done" and Order.objects.count() == 3
    assert report.status_code == 200 and "YZ001" in report.content.decode()


def test_the_web_request_stores_the_upload_and_the_job_makes_the_dry_run(
    setup, hq_client, monkeypatch, django_capture_on_commit_callbacks
):
    read = []
    real_read_orders = imports.read_orders
    monkeypatch.setattr(imports, "read_orders", lambda *a: read.append(a) or real_read_orders(*a))
    upload = SimpleUploadedFile("orders.csv", EXPORT.encode("utf-8-sig"))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        hq_client.post(
            "/admin/orders/orderimport/add/",
            {"upload": upload, "platform": "youzan", "store": setup["store"].pk},
        )
    order_import = OrderImport.objects.get()
    waiting = hq_client.get(f"/admin/orders/orderimport/{order_import.pk}/change/")

    assert (order_import.status, read) == (OrderImport.Status.CHECKING, [])
    assert "正在检查…" in waiting.content.decode()
    callbacks[0]()
    order_import.refresh_from_db()
    assert (order_import.status, order_import.total_orders, len(read)) == ("checked", 4, 1)


@pytest.mark.parametrize(
    ("language", "message"),
    [("zh-hans", "最多只能上传 1000"), ("en", "files of at most 1000")],
)
def test_an_upload_too_large_is_refused_and_nothing_is_stored(
    setup, hq_client, settings, language, message
):
    settings.UPLOAD_MAX_BYTES = 1000

    response = hq_client.post(
        "/admin/orders/orderimport/add/",
        {
            "upload": SimpleUploadedFile("big.csv", b"x" * 1001),
            "platform": "youzan",
            "store": setup["store"].pk,
        },
        headers={"accept-language": language},
    )

    assert response.status_code == 200 and message in response.content.decode()
    assert not OrderImport.objects.exists()
    with pytest.raises(UploadTooLarge):
        order_import_upload(
            file_name="big.csv", content=b"x" * 1001, platform="youzan", store=setup["store"]
        )
    assert not OrderImport.objects.exists()


def test_the_report_neutralises_formulas(setup):
    export = (
        "订单号,收货人手机号,实付金额,付款时间\n"
        '"=HYPERLINK(""http://evil.example"",""x"")",13900000001,10,2026-10-01 10:00\n'
        "-5+5,,10,2026-10-01 10:00\n"
    )

    report = order_import_report(order_import_run(import_id=check(setup, export).pk))

    rows = list(csv.reader(io.StringIO(report.lstrip("\ufeff"))))[1:]
    assert [row[0] for row in rows] == ['\'=HYPERLINK("http://evil.example","x")', "'-5+5"]
    assert rows[0][4] == "139****0001"


def test_old_upload_files_are_deleted_and_imports_without_them_cannot_start(setup, settings):
    settings.IMPORT_FILE_RETENTION_DAYS = 30
    old, recent = check(setup), check(setup)
    OrderImport.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))

    order_import_files_purge_task.delay()

    old.refresh_from_db()
    recent.refresh_from_db()
    assert (bytes(old.content), old.file_deleted_at is not None) == (b"", True)
    assert bytes(recent.content) != b"" and recent.file_deleted_at is None
    assert order_import_start(order_import=old).status == OrderImport.Status.CHECKED
    assert not Order.objects.exists()
    assert order_import_files_purge() == 0


def test_a_closed_accounts_masked_phone_leaves_order_import_reports(
    setup, django_capture_on_commit_callbacks
):
    done = order_import_run(import_id=check(setup).pk)
    assert "139****0001" in order_import_report(done)

    with django_capture_on_commit_callbacks(execute=True):
        member_delete(member=setup["by_phone"])

    done.refresh_from_db()
    rows = list(csv.reader(io.StringIO(order_import_report(done).lstrip("\ufeff"))))[1:]
    assert [(row[0], row[4]) for row in rows] == [
        ("YZ001", ""),
        ("YZ002", "139****0003"),  # someone else's stays
        ("YZ003", ""),
        ("YZ004", ""),
    ]
    assert Order.objects.get(external_id="YZ001").member_id == setup["by_phone"].pk
