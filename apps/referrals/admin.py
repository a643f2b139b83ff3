"""The HQ console's distribution pages: promoters and their decisions, commission rules,
commissions and their ledger, and withdrawals for finance to approve or refuse."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from apps.core.admin import HuijiModelAdmin, ReadOnlyAdmin
from apps.core.errors import DomainError
from apps.orders.admin import DecisionForm
from apps.referrals.models import (
    Commission,
    CommissionAccount,
    CommissionEntry,
    CommissionRule,
    Promoter,
    Withdrawal,
)
from apps.referrals.promoters import promoter_decide
from apps.referrals.reports import (
    csv_response,
    distribution_by_dealer,
    distribution_by_store,
    distribution_csv,
)
from apps.referrals.selectors import promoter_balances
from apps.referrals.withdrawals import withdrawal_approve, withdrawal_refuse
from apps.stores.models import Store


class _Decisions:
    """Actions that decide records one by one, each a service call; a refused one is a
    message and the others go on."""

    def _each(self, request, queryset, decide):
        for record in queryset.order_by("pk"):
            try:
                decided = decide(record, request.POST.get("note", "")[:200])
            except DomainError as error:
                self.message_user(request, f"#{record.pk}: {error.render()}", messages.ERROR)
                continue
            self.message_user(request, f"#{record.pk}: {decided.get_status_display()}")


@admin.register(Promoter)
class PromoterAdmin(_Decisions, ReadOnlyAdmin):
    list_display = ["member", "status", "store", "created_at", "decided_by", "decided_at"]
    list_filter = ["status", "store"]
    list_select_related = ["member", "store", "decided_by"]
    search_fields = ["=member__referral_code", "member__name"]
    search_help_text = _("The member's referral code or name.")
    date_hierarchy = "created_at"
    fields = ["member", "status", "store", "reason", "decided_by", "decided_at", "money"]
    readonly_fields = ["money"]
    actions = ["approve", "refuse", "suspend", "reinstate"]
    action_form = DecisionForm
    change_list_template = "admin/referrals/promoter/change_list.html"

    def get_urls(self):
        report = path(
            "distribution/",
            self.admin_site.admin_view(self.distribution_view),
            name="referrals_promoter_distribution",
        )
        return [report, *super().get_urls()]

    def distribution_view(self, request):
        """分销报表: what each store's and dealer's promoters brought, on a page or as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        rows = distribution_by_store(Store.objects.all())
        if request.GET.get("format") == "csv":
            return csv_response(distribution_csv(rows), "distribution")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Distribution by store and distributor"),
            "opts": self.model._meta,
            "rows": rows,
            "dealers": distribution_by_dealer(rows),
        }
        return TemplateResponse(request, "admin/referrals/promoter/distribution.html", context)

    @admin.display(description=_("commissions"))
    def money(self, promoter):
        money = promoter_balances(promoter)
        return format_html_join(
            "\n",
            "<div>{}: {}</div>",
            [
                (_("frozen"), money["frozen"]),
                (_("available"), money["available"]),
                (_("debt"), money["debt"]),
            ],
        )

    def has_decide_permission(self, request):
        return request.user.has_perm("referrals.change_promoter")

    def _decide(self, request, queryset, decision):
        self._each(
            request,
            queryset,
            lambda promoter, note: promoter_decide(
                promoter=promoter, decision=decision, actor=request.user, reason=note
            ),
        )

    @admin.action(description=_("Approve the selected applications"), permissions=["decide"])
    def approve(self, request, queryset):
        self._decide(request, queryset, "approve")

    @admin.action(description=_("Refuse the selected applications"), permissions=["decide"])
    def refuse(self, request, queryset):
        self._decide(request, queryset, "refuse")

    @admin.action(description=_("Suspend the selected promoters"), permissions=["decide"])
    def suspend(self, request, queryset):
        self._decide(request, queryset, "suspend")

    @admin.action(description=_("Reinstate the selected promoters"), permissions=["decide"])
    def reinstate(self, request, queryset):
        self._decide(request, queryset, "reinstate")


@admin.register(CommissionRule)
class CommissionRuleAdmin(HuijiModelAdmin):
    list_display = ["name", "scope", "category", "sku", "mode", "level1", "level2", "active"]
    list_filter = ["scope", "mode", "active"]
    search_fields = ["name", "category", "=sku"]


@admin.register(Commission)
class CommissionAdmin(ReadOnlyAdmin):
    list_display = [
        "order",
        "level",
        "promoter",
        "base",
        "amount",
        "reversed",
        "status",
        "available_on",
        "created_at",
    ]
    list_filter = ["status", "level", "created_at"]
    list_select_related = ["order", "promoter__member"]
    search_fields = ["=order__order_no", "=promoter__member__referral_code"]
    search_help_text = _("Order number, or the promoter's referral code.")
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(CommissionEntry)
class CommissionEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "kind",
        "promoter",
        "amount",
        "from_account",
        "to_account",
        "description",
    ]
    list_filter = ["kind", "created_at"]
    list_select_related = ["promoter__member", "from_account", "to_account"]
    search_fields = ["=promoter__member__referral_code", "=commission__order__order_no"]
    search_help_text = _("The promoter's referral code, or an order number.")
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(CommissionAccount)
class CommissionAccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "promoter", "balance"]
    list_filter = ["kind"]
    list_select_related = ["promoter__member"]
    search_fields = ["=promoter__member__referral_code"]
    show_full_result_count = False


@admin.register(Withdrawal)
class WithdrawalAdmin(_Decisions, ReadOnlyAdmin):
    """Finance approves (the payout backend pays it) or refuses (the money is available
    again) the withdrawals promoters ask for."""

    list_display = [
        "id",
        "requested_at",
        "promoter",
        "amount",
        "fee",
        "status",
        "decided_by",
        "paid_at",
        "payout_ref",
        "reason",
    ]
    list_filter = ["status", "requested_at"]
    list_select_related = ["promoter__member", "decided_by"]
    search_fields = ["=promoter__member__referral_code", "=payout_ref"]
    date_hierarchy = "requested_at"
    actions = ["approve_withdrawal", "refuse_withdrawal"]
    action_form = DecisionForm

    def has_decide_permission(self, request):
        return request.user.has_perm("referrals.decide_withdrawal")

    @admin.action(description=_("Approve and pay the selected withdrawals"), permissions=["decide"])
    def approve_withdrawal(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda withdrawal, _note: withdrawal_approve(withdrawal=withdrawal, actor=request.user),
        )

    @admin.action(description=_("Refuse the selected withdrawals"), permissions=["decide"])
    def refuse_withdrawal(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda withdrawal, note: withdrawal_refuse(
                withdrawal=withdrawal, actor=request.user, reason=note
            ),
        )
