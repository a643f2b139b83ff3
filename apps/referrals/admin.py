"""The HQ console's distribution pages: promoters and their decisions, commission rules,
commissions and their ledger, and withdrawals for finance to approve or refuse; referral
rules, referrals with their flags to clear or refuse, the rewards given, the blacklist."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from apps.core.admin import HuijiModelAdmin, ReadOnlyAdmin
from apps.core.errors import DomainError
from apps.coupons.models import Coupon
from apps.orders.admin import DecisionForm
from apps.referrals.models import (
    Commission,
    CommissionAccount,
    CommissionEntry,
    CommissionRule,
    Promoter,
    Referral,
    ReferralFlag,
    ReferralReward,
    ReferralRule,
    ReferrerBlock,
    Withdrawal,
)
from apps.referrals.promoters import promoter_decide
from apps.referrals.reports import (
    csv_response,
    distribution_by_dealer,
    distribution_by_store,
    distribution_csv,
)
from apps.referrals.rewards import referral_flags_clear, referral_refuse
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
    fields = [
        "member",
        "status",
        "store",
        "reason",
        "decided_by",
        "decided_at",
        "merged_into",
        "money",
    ]
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
    exclude = ["payout_package"]  # the member's to confirm receipt with, in the mini-program
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


@admin.register(ReferralRule)
class ReferralRuleAdmin(HuijiModelAdmin):
    list_display = [
        "name",
        "active",
        "referrer_points",
        "referrer_coupon",
        "referee_points",
        "referee_coupon",
        "daily_limit",
        "total_limit",
    ]
    list_filter = ["active"]
    list_select_related = ["referrer_coupon", "referee_coupon"]
    fieldsets = [
        (None, {"fields": ["name", "active", "min_order_amount"]}),
        (_("referrer"), {"fields": ["referrer_points", "referrer_growth", "referrer_coupon"]}),
        (_("friend"), {"fields": ["referee_points", "referee_growth", "referee_coupon"]}),
        (_("limits"), {"fields": ["daily_limit", "total_limit"]}),
        (_("farming"), {"fields": ["burst_count", "burst_hours", "purchase_days"]}),
    ]

    def has_delete_permission(self, request, obj=None):
        return False  # referrals keep the rule they joined under: end it instead


class ReferralFlagInline(admin.TabularInline):
    model = ReferralFlag
    fields = ["reason", "detail", "created_at", "cleared_at", "cleared_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OpenFlagFilter(admin.SimpleListFilter):
    title = _("flagged")
    parameter_name = "flagged"

    def lookups(self, request, model_admin):
        return [("open", _("waiting for HQ")), ("cleared", _("cleared"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(flags__cleared_at__isnull=True, flags__isnull=False).distinct()
        if self.value() == "cleared":
            return queryset.filter(flags__cleared_at__isnull=False).distinct()
        return queryset


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    """Referrals: who brought whom, where their first order stands, and the flags that hold
    a reward back until HQ clears them (or refuses the referral); both audited."""

    list_display = [
        "referee",
        "referrer",
        "joined_at",
        "status",
        "void_reason",
        "flag_reasons",
        "due_at",
        "rewarded_at",
    ]
    list_filter = [OpenFlagFilter, "status", "void_reason", "joined_at"]
    list_select_related = ["referee", "referrer"]
    search_fields = ["=referrer__referral_code", "=referee__referral_code", "=requester", "=device"]
    search_help_text = _(
        "A referral code (the referrer's or the friend's), an address or a device."
    )
    date_hierarchy = "joined_at"
    show_full_result_count = False
    fields = [
        "referee",
        "referrer",
        "rule",
        "joined_at",
        "requester",
        "device",
        "status",
        "void_reason",
        "first_order",
        "due_at",
        "rewarded_at",
    ]
    inlines = [ReferralFlagInline]
    actions = ["clear_flags", "refuse_referral"]
    action_form = DecisionForm

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("flags")

    @admin.display(description=_("flags"))
    def flag_reasons(self, referral):
        return ", ".join(
            str(flag.get_reason_display()) + ("" if flag.cleared_at is None else " ✓")
            for flag in referral.flags.all()
        )

    def has_decide_permission(self, request):
        return request.user.has_perm("referrals.change_referral")

    @admin.action(
        description=_("Clear the flags of the selected referrals"), permissions=["decide"]
    )
    def clear_flags(self, request, queryset):
        note = request.POST.get("note", "")[:200]
        cleared = sum(
            referral_flags_clear(referral=referral, actor=request.user, reason=note)
            for referral in queryset.order_by("pk")
        )
        self.message_user(request, _("%(count)d flags cleared.") % {"count": cleared})

    @admin.action(description=_("Refuse the selected referrals"), permissions=["decide"])
    def refuse_referral(self, request, queryset):
        note = request.POST.get("note", "")[:200]
        refused = sum(
            referral_refuse(referral=referral, actor=request.user, reason=note)
            for referral in queryset.order_by("pk")
        )
        self.message_user(request, _("%(count)d referrals refused.") % {"count": refused})


@admin.register(ReferralReward)
class ReferralRewardAdmin(ReadOnlyAdmin):
    list_display = [
        "referral",
        "side",
        "member",
        "points",
        "growth",
        "coupon",
        "given_at",
        "taken_back",
    ]
    list_filter = ["side", "given_on", ("clawed_back_at", admin.EmptyFieldListFilter)]
    list_select_related = ["member", "coupon", "clawback_refund"]
    search_fields = ["=member__referral_code"]
    date_hierarchy = "given_at"
    show_full_result_count = False

    @admin.display(description=_("taken back"), ordering="clawed_back_at")
    def taken_back(self, reward):
        """What a refund of the friend's first order took back: its number, the points and
        growth value taken, the points already spent and a used coupon kept."""
        if reward.clawed_back_at is None:
            return "—"
        parts = [reward.clawback_refund.refund_no]
        if reward.points_back:
            parts.append(_("%(points)d points") % {"points": reward.points_back})
        if reward.points_spent:
            parts.append(_("%(points)d points already spent") % {"points": reward.points_spent})
        if reward.growth_back:
            parts.append(_("%(growth)d growth") % {"growth": reward.growth_back})
        if reward.coupon_kept:
            parts.append(_("coupon used, kept"))
        elif reward.coupon_id and reward.coupon.status == Coupon.Status.VOID:
            parts.append(_("coupon voided"))
        return ", ".join(str(part) for part in parts)


@admin.register(ReferrerBlock)
class ReferrerBlockAdmin(HuijiModelAdmin):
    """推荐黑名单: while listed, a referrer's referrals earn nothing for either side."""

    list_display = ["member", "reason", "created_at", "created_by"]
    list_select_related = ["member", "created_by"]
    search_fields = ["=member__referral_code"]
    fields = ["member", "reason"]
    raw_id_fields = ["member"]

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
