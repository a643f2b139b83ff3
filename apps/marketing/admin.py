from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from apps.core.admin import HuijiModelAdmin, ReadOnlyAdmin
from apps.marketing.campaigns import (
    SCHEDULED_TRIGGERS,
    campaign_dry_run,
    campaign_run,
    campaign_schedule_sync,
    campaign_transition,
)
from apps.marketing.models import (
    Campaign,
    CampaignAction,
    CareCall,
    CareTask,
    Channel,
    ControlGroup,
    Message,
    MessageTemplate,
)
from apps.marketing.report import campaign_report, report_csv
from apps.marketing.rules import VARIABLES


@admin.register(MessageTemplate)
class MessageTemplateAdmin(HuijiModelAdmin):
    list_display = ["name", "channel", "purpose", "title", "active", "updated_at"]
    list_filter = ["channel", "purpose", "active"]
    search_fields = ["name", "title"]
    fieldsets = [
        (None, {"fields": ["name", "channel", "purpose", "active"]}),
        (
            _("What it says"),
            {
                "fields": ["title", "body", "link"],
                "description": _("Variables: %(variables)s.")
                % {"variables": "、".join(f"{{{name}}}" for name in VARIABLES)},
            },
        ),
        (_("Provider"), {"fields": ["wechat_template_id", "wechat_fields", "sms_template_id"]}),
    ]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "member",
        "channel",
        "template",
        "status",
        "reason",
        "delivery",
        "error",
        "attempts",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "reason", "delivery", "channel", "marketing", "template"]
    list_select_related = ["member", "template"]
    search_fields = ["=member__phone", "=cause_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = [
        "member",
        "template",
        "channel",
        "marketing",
        "cause_kind",
        "cause_id",
        "title",
        "body",
        "link",
        "status",
        "reason",
        "error",
        "attempts",
        "due_at",
        "created_at",
        "sent_at",
        "provider_id",
        "delivery",
        "delivered_at",
        "read_at",
    ]
    fields = readonly_fields


class CampaignActionInline(admin.TabularInline):
    model = CampaignAction
    extra = 1
    fields = ["kind", "coupon_template", "amount", "message_template", "tag", "per_member_limit"]


@admin.register(Campaign)
class CampaignAdmin(HuijiModelAdmin):
    list_display = ["name", "status", "trigger", "audience", "holdout_percent", "starts_at"]
    list_filter = ["status", "trigger", "audience"]
    search_fields = ["name"]
    inlines = [CampaignActionInline]
    readonly_fields = ["status", "dry_run", "report"]
    actions = ["schedule", "pause", "resume", "end", "run_now"]
    fieldsets = [
        (None, {"fields": ["name", "status", "dry_run", "report"]}),
        (_("Who"), {"fields": ["audience", "segment", "tier", "store", "distributor"]}),
        (
            _("When"),
            {
                "description": _(
                    "A birthday, dormant, points-expiring or member-day campaign runs every "
                    "day (a member day: on its day) at the hour it runs, from its start; each "
                    "member gets its actions once per occurrence, once a year for birthdays. "
                    "One on an event acts when the event happens."
                ),
                "fields": [
                    "trigger",
                    "days",
                    "weekday",
                    "month_day",
                    "hour",
                    "starts_at",
                    "ends_at",
                ],
            },
        ),
        (_("Conditions"), {"fields": ["min_payable", "consent_only", "holdout_percent"]}),
        (
            _("Budget"),
            {"fields": ["budget_coupons", "budget_points", "budget_messages", "budget_period"]},
        ),
    ]

    def has_run_campaign_permission(self, request):
        return request.user.has_perm("marketing.run_campaign")

    @admin.display(description=_("dry run: if it ran now"))
    def dry_run(self, campaign):
        if campaign.pk is None:
            return _(
                "Save the campaign (it stays a draft) to see here whom it would reach now "
                "and what it would cost; nothing is given until it is scheduled."
            )
        figures = campaign_dry_run(campaign)
        return (
            _(
                "%(reached)s members reached (audience %(audience)s, holdout %(holdout)s); "
                "%(coupons)s coupons, %(points)s points, %(messages)s messages."
            )
            % figures
        )

    @admin.display(description=_("what it earned (30 days)"))
    def report(self, campaign):
        if campaign.pk is None:
            return "—"
        report = campaign_report(campaign)
        rows = format_html_join(
            "",
            "<tr><th scope='row'>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td></tr>",
            (
                (
                    METRICS[metric.name] % {"days": report.days},
                    _level(metric.name, metric.reached),
                    _level(metric.name, metric.holdout),
                    _change(metric.name, metric.difference),
                    "—" if metric.lift is None else f"{metric.lift * 100:+.1f}%",
                    _interval(metric),
                )
                for metric in report.metrics
            ),
        )
        return format_html(
            "<p>{}</p><p><strong>{}</strong></p><table class='campaign-report'><thead><tr>"
            "<th scope='col'></th><th scope='col'>{}</th><th scope='col'>{}</th>"
            "<th scope='col'>{}</th><th scope='col'>{}</th><th scope='col'>{}</th></tr>"
            "</thead><tbody>{}</tbody></table><p><small>{}</small></p><p>{}</p>{}"
            "<p><a href='{}'>{}</a></p>",
            _("%(reached)s reached, %(holdout)s held out.")
            % {"reached": report.reached, "holdout": report.holdout},
            report.verdict,
            _("reached"),
            _("holdout"),
            _("difference"),
            _("lift"),
            _("95% confidence interval"),
            rows,
            _(
                "Difference: the reached members' figure less the held-out ones'. Lift: the "
                "difference over the held-out figure. 95% confidence interval: where the true "
                "difference lies, 19 times in 20 (Welch's t-test); one that spans zero cannot "
                "tell the campaign from chance."
            ),
            _("Cost: %(cost)s.")
            % {"cost": "；".join(f"{COSTS[name]} {value}" for name, value in report.cost.items())},
            _deliveries_table(report.deliveries),
            reverse("admin:marketing_campaign_report", args=[campaign.pk]),
            _("Download the report (CSV)"),
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/report.csv",
                self.admin_site.admin_view(self.report_download),
                name="marketing_campaign_report",
            ),
            *super().get_urls(),
        ]

    def report_download(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=pk)
        response = HttpResponse(
            report_csv(campaign_report(campaign)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="campaign-{pk}-report.csv"'
        return response

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        campaign_schedule_sync(form.instance)

    def _move(self, request, queryset, to, done):
        for campaign in queryset.order_by("pk"):
            campaign_transition(campaign=campaign, to=to, actor=request.user)
        self.message_user(request, done, messages.SUCCESS)

    @admin.action(description=_("Schedule the selected campaigns"), permissions=["run_campaign"])
    def schedule(self, request, queryset):
        self._move(request, queryset, Campaign.Status.SCHEDULED, _("Scheduled."))

    @admin.action(description=_("Pause the selected campaigns"), permissions=["run_campaign"])
    def pause(self, request, queryset):
        self._move(request, queryset, Campaign.Status.PAUSED, _("Paused."))

    @admin.action(description=_("Resume the selected campaigns"), permissions=["run_campaign"])
    def resume(self, request, queryset):
        self._move(request, queryset, Campaign.Status.RUNNING, _("Running again."))

    @admin.action(description=_("End the selected campaigns"), permissions=["run_campaign"])
    def end(self, request, queryset):
        self._move(request, queryset, Campaign.Status.ENDED, _("Ended."))

    @admin.action(description=_("Run the selected campaigns now"), permissions=["run_campaign"])
    def run_now(self, request, queryset):
        runnable = queryset.filter(
            trigger__in=SCHEDULED_TRIGGERS,
            status__in=[Campaign.Status.SCHEDULED, Campaign.Status.RUNNING],
        )
        for campaign in queryset.exclude(pk__in=runnable.values("pk")).order_by("pk"):
            self.message_user(
                request,
                _("%(name)s was not run: only a scheduled or running campaign with a "
                  "schedule trigger runs now (one on an event runs when it happens).")
                % {"name": campaign.name},
                messages.WARNING,
            )  # fmt: skip
        reached = sum(campaign_run(campaign_id=campaign.pk) for campaign in runnable.order_by("pk"))
        self.message_user(
            request, _("%(n)s members were reached or held out.") % {"n": reached}, messages.INFO
        )


DELIVERY_HEADINGS = {
    "queued": _("queued"),
    "held": _("held for quiet hours"),
    "capped": _("capped"),
    "refused": _("not sent (consent, subscription…)"),
    "sent": _("sent"),
    "delivered": _("delivered"),
    "failed": _("failed or not delivered"),
}


def _deliveries_table(deliveries: dict[str, dict[str, int]]):
    """The campaign's messages by channel, a row each."""
    rows = format_html_join(
        "",
        "<tr><th>{}</th>" + "<td>{}</td>" * len(DELIVERY_HEADINGS) + "</tr>",
        (
            (Channel(channel).label, *(figures[name] for name in DELIVERY_HEADINGS))
            for channel, figures in deliveries.items()
        ),
    )
    headings = format_html_join(
        "", "<th>{}</th>", ((label,) for label in DELIVERY_HEADINGS.values())
    )
    return format_html(
        "<table class='campaign-deliveries'><tr><th>{}</th>{}</tr>{}</table>",
        _("messages"),
        headings,
        rows,
    )


# The report's figures, named for a marketer: conversion in per cent (its difference in
# percentage points), revenue in yuan, orders and visits per member.
METRICS = {
    "bought": _("bought within %(days)s days"),
    "revenue": _("revenue per member (yuan)"),
    "orders": _("orders per member"),
    "visits": _("store visits per member"),
}
COSTS = {
    "coupons_issued": _("coupons issued"),
    "coupons_used": _("coupons used"),
    "points": _("points given"),
    "messages": _("messages"),
}


def _level(name: str, value: float) -> str:
    return f"{value * 100:.1f}%" if name == "bought" else f"{value:.2f}"


def _interval(metric) -> str:
    if metric.low is None:
        return "—"
    return f"{_change(metric.name, metric.low)} ~ {_change(metric.name, metric.high)}"


def _change(name: str, value: float | None) -> str:
    if value is None:
        return "—"
    if name == "bought":
        return _("%(value)s percentage points") % {"value": f"{value * 100:+.1f}"}
    return f"{value:+.2f}"


@admin.register(ControlGroup)
class ControlGroupAdmin(HuijiModelAdmin):
    list_display = ["__str__"]
    fields = ["percent"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not ControlGroup.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CareTask)
class CareTaskAdmin(HuijiModelAdmin):
    list_display = ["name", "kind", "days", "active", "updated_at"]
    list_filter = ["kind", "active"]
    search_fields = ["name"]
    fields = ["name", "kind", "days", "script", "active"]


@admin.register(CareCall)
class CareCallAdmin(ReadOnlyAdmin):
    """Every store's calls, to see how far each got: filter by day and store."""

    list_display = ["day", "store", "task", "member", "outcome", "done_at", "done_by"]
    list_filter = ["day", "task", "outcome", ("done_at", admin.EmptyFieldListFilter)]
    list_select_related = ["store", "task", "member", "done_by"]
    search_fields = ["=store__code", "=member__phone"]
    date_hierarchy = "day"
    show_full_result_count = False
    readonly_fields = ["day", "store", "task", "member", "outcome", "note", "done_at", "done_by"]
    fields = readonly_fields
