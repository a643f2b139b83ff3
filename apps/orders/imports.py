"""Import a platform's orders (Youzan, Meituan, Ele.me, Tmall, JD exports, CSV or XLSX).

Rows with the same order number are one order. Each order is matched to a member by phone,
else by the member's id on that platform, else recorded as a non-member sale; it is placed
through the same checkout as a POS sale, keyed by the platform's order number at the chosen
store, so it earns once however often the file is imported. `order_import_upload` keeps the
file (refused at once when too large) and hands it to a job, `order_import_check`, that makes
the dry run; `order_import_run` imports order by order, each with its report line in one
transaction, and a rerun goes on from the last order done.
"""

import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Concat
from django.utils.translation import gettext as _

from apps.core.imports import (
    dry_run_preview,
    import_check,
    import_failed,
    import_files_purge,
    import_run,
    import_start,
    import_upload,
    imports_resume,
    report_lines,
    report_rewrite,
)
from apps.core.phones import InvalidPhone, normalize_phone
from apps.core.spreadsheets import csv_document, csv_line, parse_datetime, spreadsheet_rows
from apps.members.models import Member, MemberIdentity
from apps.orders.checkout import Checkout, order_place_paid
from apps.orders.errors import DuplicateOrder
from apps.orders.models import Order, OrderImport
from apps.orders.pricing import LineInput

MAX_ROWS = 200_000
COLUMNS = {
    "external_id": {"订单号", "订单编号", "主订单编号", "order_id", "order_no", "tid"},
    "phone": {"手机号", "收货人手机号", "收货人手机", "买家手机号", "联系电话", "phone", "mobile"},
    "platform_id": {"买家id", "用户id", "会员id", "buyer_id", "user_id", "openid"},
    "amount": {"实付金额", "实付款", "支付金额", "买家实付", "amount", "paid", "payment"},
    "paid_at": {"支付时间", "付款时间", "下单时间", "成交时间", "paid_at", "pay_time"},
    "sku": {"商品编码", "商家编码", "商品sku", "货号", "sku"},
    "name": {"商品名称", "宝贝标题", "商品标题", "title", "name"},
    "quantity": {"数量", "购买数量", "商品数量", "num", "quantity"},
}
RESULTS = ("member", "non_member", "already", "rejected")


@dataclass
class PlatformOrder:
    external_id: str
    rows: list[int] = field(default_factory=list)
    lines: list[LineInput] = field(default_factory=list)
    paid_at: datetime | None = None
    phone: str = ""
    platform_id: str = ""
    reason: str = ""


def read_orders(file_name: str, content: bytes) -> list[PlatformOrder]:
    orders: dict[str, PlatformOrder] = {}
    for number, values in spreadsheet_rows(
        file_name, content, COLUMNS, required="external_id", max_rows=MAX_ROWS
    ):
        external_id = values["external_id"][:64]
        order = orders.setdefault(external_id, PlatformOrder(external_id=external_id))
        order.rows.append(number)
        _read_row(order, values)
    return list(orders.values())


def _read_row(order: PlatformOrder, values: dict[str, str]) -> None:
    if not order.external_id:
        order.reason = _("no order number")
        return
    if values.get("phone") and not order.phone:
        # A masked or foreign number: matched by platform id, or recorded as a non-member sale.
        with contextlib.suppress(InvalidPhone):
            order.phone = normalize_phone(values["phone"])
    order.platform_id = order.platform_id or values.get("platform_id", "")[:128]
    order.paid_at = order.paid_at or parse_datetime(values.get("paid_at", ""))
    if order.paid_at is None:
        order.reason = _("no valid payment time")
    try:
        amount = Decimal(values.get("amount", "").replace(",", "") or "x")
        quantity = int(values.get("quantity") or 1)
    except (InvalidOperation, ValueError):
        order.reason = _("the amount or the quantity is not a number")
        return
    if amount < 0 or quantity < 1:
        order.reason = _("the amount or the quantity is not a number")
        return
    sku, name = values.get("sku", "")[:64] or "PLATFORM", values.get("name", "")[:100]
    order.lines.extend(_exact_lines(sku, name, quantity, amount))


def _exact_lines(sku: str, name: str, quantity: int, amount: Decimal) -> list[LineInput]:
    """What was paid for `quantity` units as lines that add up to it to the fen: 100.00 for
    3 is 2 × 33.33 and 1 × 33.34."""
    fen = int((amount * 100).to_integral_value())
    unit, rest = divmod(fen, quantity)
    lines = [
        LineInput(sku=sku, name=name, quantity=quantity - rest, unit_price=Decimal(unit) / 100)
    ]
    if rest:
        lines.append(
            LineInput(sku=sku, name=name, quantity=rest, unit_price=Decimal(unit + 1) / 100)
        )
    return [line for line in lines if line.quantity]


def _members(orders: list[PlatformOrder], platform: str) -> dict[str, Member]:
    """Each order's member, by phone or by platform id, in two queries."""
    by_phone = {
        m.phone: m
        for m in Member.objects.filter(
            phone__in={o.phone for o in orders if o.phone}, status=Member.Status.ACTIVE
        )
    }
    by_id = {
        identity.value: identity.member
        for identity in MemberIdentity.objects.select_related("member").filter(
            kind=platform, value__in={o.platform_id for o in orders if o.platform_id}
        )
        if identity.member.status == Member.Status.ACTIVE
    }
    return {
        o.external_id: by_phone.get(o.phone) or by_id.get(o.platform_id)
        for o in orders
        if by_phone.get(o.phone) or by_id.get(o.platform_id)
    }


def _decide(orders: list[PlatformOrder], platform: str, store) -> list[tuple[PlatformOrder, str]]:
    members = _members(orders, platform)
    seen = set(
        Order.objects.filter(
            store=store, external_id__in=[o.external_id for o in orders]
        ).values_list("external_id", flat=True)
    )
    decided = []
    for order in orders:
        if order.reason:
            decided.append((order, "rejected"))
        elif order.external_id in seen:
            decided.append((order, "already"))
        else:
            decided.append((order, "member" if order.external_id in members else "non_member"))
    return decided


def order_import_upload(*, file_name: str, content: bytes, platform: str, store, actor=None):
    """HQ uploads a file: it is kept, and checked by a job (`order_import_check`)."""
    from apps.orders.tasks import order_import_check_task

    return import_upload(
        OrderImport,
        check_task=order_import_check_task,
        file_name=file_name,
        content=content,
        actor=actor,
        platform=platform,
        store=store,
    )


def order_import_check(*, import_id: int) -> OrderImport:
    """The dry run: which orders would be imported as members' or others' sales, which are
    imported already, and which are rejected."""
    return import_check(OrderImport, import_id=import_id, read=read_orders, dry_run=_dry_run)


def _dry_run(order_import: OrderImport, orders: list[PlatformOrder]) -> dict:
    preview = dry_run_preview(
        _decide(orders, order_import.platform, order_import.store),
        results=RESULTS,
        rejected_as="rejected_orders",
        describe=lambda order: {
            "order": order.external_id,
            "rows": order.rows,
            "reason": order.reason,
        },
    )
    return {"total_orders": len(orders), "preview": preview}


def order_import_start(*, order_import: OrderImport) -> OrderImport:
    """HQ confirms the dry run: the import runs as a job (at once on the embedded default)."""
    from apps.orders.tasks import order_import_run_task

    return import_start(order_import, run_task=order_import_run_task)


def order_import_run(*, import_id: int) -> OrderImport:
    return import_run(OrderImport, import_id=import_id, read=read_orders, import_rest=_import_rest)


def _import_rest(order_import: OrderImport, orders: list[PlatformOrder]) -> None:
    for index in range(order_import.done, len(orders)):
        _import_one(order_import, index, orders[index])


@transaction.atomic
def _import_one(order_import: OrderImport, index: int, order: PlatformOrder) -> None:
    locked = OrderImport.objects.select_for_update().get(pk=order_import.pk)
    if locked.done > index:
        return  # another run did it
    [(order, result)] = _decide([order], order_import.platform, order_import.store)
    member = _members([order], order_import.platform).get(order.external_id)
    order_no = ""
    if result in ("member", "non_member"):
        try:
            # order_place_paid takes no savepoint of its own: this one lets a duplicate be
            # reported while the import's row and counts go on in this transaction.
            with transaction.atomic():
                placed = order_place_paid(
                    checkout=Checkout(
                        store=order_import.store,
                        channel=f"platform:{order_import.platform}",
                        member=member,
                        lines=order.lines,
                    ),
                    external_id=order.external_id,
                    payment_ref=f"{order_import.platform}:{order.external_id}",
                    now=order.paid_at,
                )
            order_no = placed.order_no
        except DuplicateOrder:
            result = "already"
    counts = {**locked.counts, result: locked.counts.get(result, 0) + 1}
    OrderImport.objects.filter(pk=locked.pk).update(
        done=F("done") + 1,
        counts=counts,
        report=Concat(F("report"), Value(_report_line(order, result, member, order_no))),
    )


def _report_line(order: PlatformOrder, result: str, member, order_no: str) -> str:
    words = {
        "member": _("imported, member"),
        "non_member": _("imported, not a member"),
        "already": _("already imported"),
        "rejected": _("rejected"),
    }
    return csv_line(
        [
            order.external_id,
            " ".join(map(str, order.rows)),
            words[result],
            order.reason,
            member.phone_masked if member else "",
            order_no,
        ]
    )


def order_imports_resume() -> int:
    from apps.orders.tasks import order_import_check_task, order_import_run_task

    return imports_resume(
        OrderImport, check_task=order_import_check_task, run_task=order_import_run_task
    )


def order_import_failed(*, import_id: int, error: str) -> None:
    import_failed(OrderImport, import_id=import_id, error=error)


def order_import_report(order_import: OrderImport) -> str:
    """The report as a CSV file (members' phones in it are masked)."""
    return csv_document(
        [_("order number"), _("rows"), _("result"), _("reason"), _("member"), _("Huiji order")],
        report_lines(order_import.report),
    )


REPORT_MEMBER = 4  # the column of a report line with the member's masked phone (_report_line)


@transaction.atomic
def order_import_rows_forget(*, member_id: int) -> None:
    """A member closed their account: report lines of their imported orders keep the order
    and its result, no longer their masked phone. Safe to run again."""
    order_nos = list(
        Order.objects.filter(member_id=member_id, channel__startswith="platform:").values_list(
            "order_no", flat=True
        )
    )
    mentions = Q(pk__in=[])
    for order_no in order_nos:
        mentions |= Q(report__contains=order_no)
    # Locked as an import run locks them: a line it appends meanwhile is not lost.
    reports = list(OrderImport.objects.filter(mentions).select_for_update().order_by("pk"))
    for order_import in reports:
        order_import.report = report_rewrite(
            order_import.report, lambda line: _forgotten(line, order_nos)
        )
    OrderImport.objects.bulk_update(reports, ["report"])


def _forgotten(line: list[str], order_nos: list[str]) -> list[str]:
    if line[-1] in order_nos:
        line[REPORT_MEMBER] = ""
    return line


def order_import_files_purge() -> int:
    return import_files_purge(OrderImport)
