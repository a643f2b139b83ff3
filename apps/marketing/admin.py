from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from apps.core.admin import HuijiModelAdmin, ReadOnlyAdmin
from apps.marketing.models import CareCall, CareTask, Message, MessageTemplate
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
        (_("Provider"), {"fields": ["wechat_template_id", "sms_template_id"]}),
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
        "error",
        "attempts",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "reason", "channel", "marketing", "template"]
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
        "read_at",
    ]
    fields = readonly_fields


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
