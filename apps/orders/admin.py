from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from apps.core.admin import (
    HuijiModelAdmin,
    ReadOnlyAdmin,
    UploadImportAdmin,
    statement_page,
)
from apps.core.errors import DomainError
from apps.core.spreadsheets import SpreadsheetUploadField
from apps.coupons.models import Coupon
from apps.orders.after_sale import (
    DECIDE_PERMISSION,
    refund_request_approve,
    refund_request_refuse,
)
from apps.orders.fulfilment import delivery_ship
from apps.orders.imports import order_import_report, order_import_start, order_import_upload
from apps.orders.models import (
    Fulfilment,
    LatePayment,
    OnlineShare,
    Order,
    OrderImport,
    OrderLine,
    Payment,
    Refund,
    RefundRequest,
    ShippingRule,
)
from apps.orders.settlement import online_dealer_totals, online_statement, online_statement_csv
from apps.points.models import Entry


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = [
        "line_no",
        "sku",
        "name",
        "quantity",
        "unit_price",
        "list_amount",
        "member_discount",
        "coupon_discount",
        "points_deduction",
        "paid",
        "refunded_quantity",
        "refunded_amount",
    ]


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["amount", "method", "transaction_id", "created_at"]


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = [
        "refund_no",
        "refund_id",
        "amount",
        "shortfall_cash",
        "points_reversed",
        "points_returned",
        "coupons_restored",
        "created_at",
    ]


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "order_no",
        "created_at",
        "store",
        "member",
        "channel",
        "status",
        "payable",
        "refunded_amount",
        "points_earned",
    ]
    list_filter = ["channel", "status", "store", "created_at"]
    list_select_related = ["store", "member"]
    search_fields = ["=order_no", "=external_id", "=member__phone"]
    search_help_text = _("Order number, the POS's external id, or the member's full phone.")
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [OrderLineInline, PaymentInline, RefundInline]
    readonly_fields = ["ledger", "coupons"]
    fields = [
        ("order_no", "external_id", "channel", "status"),
        ("store", "member", "guide"),
        ("subtotal", "member_discount", "coupon_discount", "points_deduction", "payable"),
        ("paid_amount", "refunded_amount", "points_used", "points_earned", "growth_earned"),
        ("created_at", "paid_at"),
        "coupons",
        "ledger",
    ]

    @admin.display(description=_("points entries it caused"))
    def ledger(self, order):
        entries = Entry.objects.filter(
            Q(cause_kind=Entry.CauseKind.ORDER, cause_id=order.pk)
            | Q(cause_kind=Entry.CauseKind.REFUND, cause_id__in=order.refunds.values("pk"))
        ).order_by("pk")
        return (
            format_html_join(
                "\n",
                "<div>#{} {} {} · {}</div>",
                ((e.pk, e.get_kind_display(), e.amount, e.description) for e in entries),
            )
            or "—"
        )

    @admin.display(description=_("coupons used"))
    def coupons(self, order):
        used = Coupon.objects.filter(order_id=order.pk, status=Coupon.Status.USED).select_related(
            "template"
        )
        return (
            format_html_join(
                "\n", "<div>{} {} −{}</div>", ((c.code, c.template.name, c.discount) for c in used)
            )
            or "—"
        )


@admin.register(ShippingRule)
class ShippingRuleAdmin(admin.ModelAdmin):
    """运费: the fee by region HQ sets for delivered online orders (pickup is free, and so is
    delivery for tiers with free shipping)."""

    list_display = ["region", "fee", "free_from"]
    search_fields = ["region"]


@admin.register(LatePayment)
class LatePaymentAdmin(ReadOnlyAdmin):
    """Payments no order keeps (after their order was cancelled, or of another amount), and
    their refunds (finance): a refund the gateway could not make (abnormal, closed) is shown
    with the gateway's reason, for finance to give the money back another way."""

    list_display = [
        "received_at",
        "order",
        "amount",
        "reason",
        "transaction_id",
        "status",
        "gateway_refund_id",
        "refunded_at",
        "attempts",
        "last_error",
    ]
    list_filter = ["status", "reason", "received_at"]
    list_select_related = ["order"]
    search_fields = ["=order__order_no", "=transaction_id"]
    date_hierarchy = "received_at"


class DecisionForm(ActionForm):
    note = forms.CharField(label=_("note"), max_length=200, required=False)


@admin.register(RefundRequest)
class RefundRequestAdmin(ReadOnlyAdmin):
    """Members' refund requests on orders paid online (customer service, operations): approve
    (the gateway then refunds; approving again asks a gateway that failed again) or refuse,
    with a note the member reads."""

    list_display = [
        "id",
        "created_at",
        "order",
        "store",
        "status",
        "amount",
        "cash",
        "reason",
        "reason_text",
        "note",
        "decided_by",
        "last_error",
    ]
    list_filter = ["status", "reason", "created_at"]
    list_select_related = ["order__store", "decided_by"]
    search_fields = ["=order__order_no", "=refund_no"]
    date_hierarchy = "created_at"
    actions = ["approve_refund", "refuse_refund"]
    action_form = DecisionForm

    @admin.display(description=_("store"))
    def store(self, obj):
        return obj.order.store

    def has_decide_permission(self, request):
        return request.user.has_perm(DECIDE_PERMISSION)

    @admin.action(description=_("Approve and refund the selected requests"), permissions=["decide"])
    def approve_refund(self, request, queryset):
        self._decide(request, queryset, refund_request_approve)

    @admin.action(description=_("Refuse the selected requests"), permissions=["decide"])
    def refuse_refund(self, request, queryset):
        self._decide(request, queryset, refund_request_refuse)

    def _decide(self, request, queryset, decide):
        note = request.POST.get("note", "")[:200]
        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                decided = decide(request_id=pk, actor=request.user, note=note)
            except DomainError as error:
                self.message_user(request, f"#{pk}: {error.render()}", messages.ERROR)
                continue
            decided.refresh_from_db()
            level = messages.ERROR if decided.last_error else messages.SUCCESS
            self.message_user(
                request, f"#{pk}: {decided.get_status_display()} {decided.last_error}", level
            )


class OrderImportForm(forms.ModelForm):
    upload = SpreadsheetUploadField(
        label=_("file"),
        help_text=_(
            "The platform's order export, CSV (UTF-8 or GBK) or Excel .xlsx; "
            "a column 订单号 is required."
        ),
    )

    class Meta:
        model = OrderImport
        fields = ["platform", "store"]


@admin.register(OrderImport)
class OrderImportAdmin(UploadImportAdmin):
    upload_form = OrderImportForm
    upload_fields = ["upload", "platform", "store"]
    list_display = ["file_name", "platform", "store", "status", "total_orders", "created_at"]
    list_filter = ["status", "platform"]
    search_fields = ["file_name", "store__code"]
    autocomplete_fields = ["store"]
    readonly_fields = [
        "file_name",
        "platform",
        "store",
        "status",
        "total_orders",
        "dry_run",
        "result",
        "error",
    ]

    def check_upload(self, request, upload, obj):
        return order_import_upload(
            file_name=upload.name,
            content=upload.read(),
            platform=obj.platform,
            store=obj.store,
            actor=request.user,
        )

    def start(self, obj):
        return order_import_start(order_import=obj)

    def report(self, request, obj) -> str:
        return order_import_report(obj)

    @admin.display(description=_("dry run"))
    def dry_run(self, obj):
        if obj.status in (OrderImport.Status.CHECKING, OrderImport.Status.INVALID):
            return obj.get_status_display()
        preview = obj.preview or {}
        rejected = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (row["order"], " ".join(map(str, row["rows"])), row["reason"])
                for row in preview.get("rejected_orders", [])
            ),
        )
        return format_html(
            "<p>{}</p><table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            _(
                "%(member)d orders of members, %(non_member)d of non-members, "
                "%(already)d already imported, %(rejected)d rejected."
            )
            % {key: preview.get(key, 0) for key in ("member", "non_member", "already", "rejected")},
            _("order number"),
            _("rows"),
            _("reason"),
            rejected,
        )

    @admin.display(description=_("result"))
    def result(self, obj):
        if not obj.done:
            return "—"
        counts = {
            key: obj.counts.get(key, 0) for key in ("member", "non_member", "already", "rejected")
        }
        return self.report_link(
            obj,
            _(
                "%(member)d orders of members and %(non_member)d of non-members imported, "
                "%(already)d already there, %(rejected)d rejected."
            )
            % counts,
        )


@admin.register(OnlineShare)
class OnlineShareAdmin(HuijiModelAdmin):
    """线上分成 (finance): what each franchise store is owed of the online sales in its
    mall, and the settlement drawn from it. A rule is never edited, and deleted only before
    its first day: a statement once drawn never changes."""

    list_display = ["store", "category", "percent", "valid_from", "created_at"]
    list_select_related = ["store"]
    list_filter = ["category", "valid_from"]
    search_fields = ["store__code", "store__name", "category"]
    autocomplete_fields = ["store"]
    fields = ["store", "category", "percent", "valid_from"]
    change_list_template = "admin/orders/onlineshare/change_list.html"

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or obj.valid_from > timezone.localdate())

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one by one, each checked for its first day
        return actions

    def get_urls(self):
        settlement = path(
            "settlement/",
            self.admin_site.admin_view(self.settlement_view),
            name="orders_onlineshare_settlement",
        )
        return [settlement, *super().get_urls()]

    def settlement_view(self, request):
        """线上销售结算单: what HQ owes each franchise store for the online sales in its mall."""
        return statement_page(
            self,
            request,
            title=_("Online sales settlement"),
            template="admin/orders/onlineshare/settlement.html",
            filename="online-settlement",
            statement=online_statement,
            to_csv=online_statement_csv,
            dealer_totals=online_dealer_totals,
        )


class ShipForm(forms.Form):
    carrier = forms.CharField(label=_("carrier"), max_length=50)
    tracking_no = forms.CharField(label=_("tracking number"), max_length=64)


SHIP_PERMISSION = "orders.change_fulfilment"


@admin.register(Fulfilment)
class FulfilmentAdmin(ReadOnlyAdmin):
    """Online orders' pickups and deliveries. HQ operations ship what leaves HQ's
    warehouse (`orders.change_fulfilment`); a store ships its own from its dashboard."""

    list_display = [
        "order",
        "kind",
        "status",
        "ship_from",
        "recipient",
        "region",
        "carrier",
        "tracking_no",
        "shipped_at",
        "done_at",
        "ship_link",
    ]
    list_filter = ["status", "kind", ("ship_from", admin.EmptyFieldListFilter)]
    list_select_related = ["order", "ship_from"]
    search_fields = ["=order__order_no", "=tracking_no"]
    search_help_text = _("Order number or tracking number.")
    show_full_result_count = False
    exclude = ["pickup_code", "recipient_phone"]  # the member's to show, not HQ's to read

    @admin.display(description=_("ship"))
    def ship_link(self, fulfilment):
        if (
            fulfilment.kind != Fulfilment.Kind.DELIVERY
            or fulfilment.ship_from_id is not None
            or fulfilment.status not in (Fulfilment.Status.TO_HAND_OVER, Fulfilment.Status.SHIPPED)
        ):
            return "—"
        url = reverse("admin:orders_fulfilment_ship", args=[fulfilment.pk])
        return format_html('<a href="{}">{}</a>', url, _("ship"))

    def get_urls(self):
        ship = path(
            "<int:pk>/ship/",
            self.admin_site.admin_view(self.ship_view),
            name="orders_fulfilment_ship",
        )
        return [ship, *super().get_urls()]

    def ship_view(self, request, pk):
        """Ship a parcel from HQ's warehouse, or correct its carrier and number."""
        if not request.user.has_perm(SHIP_PERMISSION):
            raise PermissionDenied
        fulfilment = get_object_or_404(Fulfilment.objects.select_related("order"), pk=pk)
        form = ShipForm(
            request.POST or None,
            initial={"carrier": fulfilment.carrier, "tracking_no": fulfilment.tracking_no},
        )
        if request.method == "POST" and form.is_valid():
            try:
                delivery_ship(
                    order_id=fulfilment.pk,
                    ship_from=None,
                    actor=request.user,
                    **form.cleaned_data,
                )
            except DomainError as error:
                form.add_error(None, error.render())
            else:
                self.message_user(
                    request,
                    _("Order %(order_no)s shipped.") % {"order_no": fulfilment.order.order_no},
                    messages.SUCCESS,
                )
                return redirect("admin:orders_fulfilment_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Ship %(order_no)s") % {"order_no": fulfilment.order.order_no},
            "form": form,
            "opts": self.model._meta,
            "changelist_url": reverse("admin:orders_fulfilment_changelist"),
        }
        return TemplateResponse(request, "admin/form_page.html", context)
