import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from apps.core.admin import HuijiModelAdmin, ReadOnlyAdmin, statement_page
from apps.core.errors import DomainError
from apps.members.forms import MemberByPhoneField
from apps.points.manual import (
    APPROVE_PERMISSION,
    REQUEST_PERMISSION,
    manual_action_approve,
    manual_action_reject,
    manual_adjust_request,
    manual_cap,
    manual_void_request,
)
from apps.points.models import (
    Account,
    EarningRule,
    Entry,
    ManualAction,
    ManualActionCap,
    PointsWindow,
)
from apps.points.settlement import dealer_totals, settlement_csv, settlement_statement
from apps.points.windows import REFERENCE


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "part", "member", "store", "distributor", "balance"]
    list_filter = ["kind"]
    list_select_related = ["member", "store", "distributor"]
    search_fields = ["member__name", "store__code", "store__name", "distributor__code"]


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "kind",
        "member",
        "amount",
        "from_account",
        "to_account",
        "description",
    ]
    list_filter = ["kind", "cause_kind", "created_at"]
    list_select_related = ["member", "from_account", "to_account"]
    search_fields = ["=idempotency_key", "=cause_id", "member__name", "description"]
    date_hierarchy = "created_at"
    change_list_template = "admin/points/entry/change_list.html"
    actions = ["void"]

    def has_adjust_permission(self, request):
        return request.user.has_perm(REQUEST_PERMISSION)

    @admin.action(description=_("Void the selected entry"), permissions=["adjust"])
    def void(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select one entry to void."), messages.ERROR)
            return None
        return redirect("admin:points_entry_void", queryset.get().pk)

    def get_urls(self):
        views = [
            path(
                "adjust/", self.admin_site.admin_view(self.adjust_view), name="points_entry_adjust"
            ),
            path(
                "<int:pk>/void/",
                self.admin_site.admin_view(self.void_view),
                name="points_entry_void",
            ),
            path(
                "settlement/",
                self.admin_site.admin_view(self.settlement_view),
                name="points_entry_settlement",
            ),
        ]
        return [*views, *super().get_urls()]

    def adjust_view(self, request):
        if not request.user.has_perm(REQUEST_PERMISSION):
            raise PermissionDenied
        form = AdjustForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                action = manual_adjust_request(
                    member=form.cleaned_data["member"],
                    points=form.cleaned_data["points"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                    key=form.cleaned_data["key"],
                )
            except DomainError as error:
                form.add_error("points", error.render())
            else:
                _tell_outcome(request, action, _("The points were adjusted."))
                return redirect("admin:points_entry_changelist")
        return self._form_page(request, form, _("Adjust points"))

    def void_view(self, request, pk):
        if not request.user.has_perm(REQUEST_PERMISSION):
            raise PermissionDenied
        entry = get_object_or_404(Entry.objects.select_related("member"), pk=pk)
        form = VoidForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                action = manual_void_request(
                    entry=entry,
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                    key=form.cleaned_data["key"],
                )
            except DomainError as error:
                form.add_error("reason", error.render())
            else:
                _tell_outcome(request, action, _("The entry was voided."))
                return redirect("admin:points_entry_changelist")
        return self._form_page(request, form, _("Void %(entry)s") % {"entry": entry})

    def _form_page(self, request, form, title):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "opts": self.model._meta,
            "changelist_url": reverse("admin:points_entry_changelist"),
        }
        return TemplateResponse(request, "admin/form_page.html", context)

    def settlement_view(self, request):
        """积分结算单: what each store and dealer is owed for the points spent with them."""
        return statement_page(
            self,
            request,
            title=_("Points settlement"),
            template="admin/points/entry/settlement.html",
            filename="settlement",
            statement=settlement_statement,
            to_csv=settlement_csv,
            dealer_totals=dealer_totals,
        )


class AdjustForm(forms.Form):
    member = MemberByPhoneField()
    points = forms.IntegerField(
        label=_("points"), help_text=_("Positive to add, negative to take away.")
    )
    reason = forms.CharField(label=_("reason"), max_length=100)
    # One adjustment per form shown: pressing Save twice adjusts once.
    key = forms.CharField(
        widget=forms.HiddenInput, initial=lambda: f"admin-adjust:{uuid.uuid4().hex}"
    )

    def clean_points(self):
        if self.cleaned_data["points"] == 0:
            raise forms.ValidationError(_("Adjust by at least one point."))
        return self.cleaned_data["points"]


class VoidForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=100)
    key = forms.CharField(
        widget=forms.HiddenInput, initial=lambda: f"admin-void:{uuid.uuid4().hex}"
    )


def _tell_outcome(request, action: ManualAction, done: str) -> None:
    if action.status == ManualAction.Status.PENDING:
        messages.warning(
            request,
            _(
                "This is above your daily cap of %(cap)d points: it waits for a second "
                "person's approval (request #%(id)d), and nothing moved yet."
            )
            % {"cap": manual_cap(request.user), "id": action.pk},
        )
    else:
        messages.success(request, done)


@admin.register(ManualAction)
class ManualActionAdmin(ReadOnlyAdmin):
    """Adjustments and voids, done or waiting: a second person approves or rejects those
    above their requester's cap."""

    list_display = [
        "id",
        "requested_at",
        "kind",
        "status",
        "member",
        "store",
        "points",
        "reason",
        "requested_by",
        "decided_by",
    ]
    list_filter = ["status", "kind", "requested_at"]
    list_select_related = ["member", "store", "requested_by", "decided_by"]
    search_fields = ["reason", "=member__id", "requested_by__username"]
    date_hierarchy = "requested_at"
    actions = ["approve", "reject"]

    def has_approve_permission(self, request):
        return request.user.has_perm(APPROVE_PERMISSION)

    @admin.action(description=_("Approve the selected requests"), permissions=["approve"])
    def approve(self, request, queryset):
        self._decide(request, queryset, manual_action_approve)

    @admin.action(description=_("Reject the selected requests"), permissions=["approve"])
    def reject(self, request, queryset):
        self._decide(request, queryset, manual_action_reject)

    def _decide(self, request, queryset, decide):
        done = 0
        for action in queryset.order_by("pk"):
            try:
                decide(action=action, actor=request.user)
            except DomainError as error:
                self.message_user(request, f"#{action.pk}: {error.render()}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, _("%(count)d requests decided.") % {"count": done})


@admin.register(ManualActionCap)
class ManualActionCapAdmin(HuijiModelAdmin):
    list_display = ["group", "daily_points"]


@admin.register(EarningRule)
class EarningRuleAdmin(HuijiModelAdmin):
    reference_data = ("earning_rules",)
    list_display = [
        "name",
        "kind",
        "active",
        "points_per_yuan",
        "multiplier",
        "event",
        "points",
        "weekdays",
        "starts_at",
        "ends_at",
    ]
    list_filter = ["kind", "active", "event"]
    search_fields = ["name", "skus", "categories"]
    filter_horizontal = ["stores", "segments", "tiers"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "active"]}),
        (
            _("What it gives"),
            {"fields": ["points_per_yuan", "multiplier", "event", "points", "per_order_cap"]},
        ),
        (
            _("Where and when it holds"),
            {
                "fields": [
                    "skus",
                    "categories",
                    "weekdays",
                    "stores",
                    "tiers",
                    "segments",
                    "starts_at",
                    "ends_at",
                ]
            },
        ),
        (_("How often a member may get it"), {"fields": ["limit_count", "limit_period"]}),
    ]


@admin.register(PointsWindow)
class PointsWindowAdmin(HuijiModelAdmin):
    reference_data = (REFERENCE,)
    list_display = ["name", "use", "starts_on", "ends_on", "active"]
    list_filter = ["use", "active"]
    fields = ["name", "use", "starts_on", "ends_on", "active"]
