from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from apps.core.admin import MEMBER_PHONE_PERMISSION, HuijiModelAdmin, ReadOnlyAdmin
from apps.coupons.actions import coupons_void, templates_withdraw
from apps.coupons.batches import batch_phones_masked, issue_batch_start
from apps.coupons.models import Coupon, CouponTemplate, IssueBatch
from apps.coupons.selectors import template_forget, template_stats


@admin.register(CouponTemplate)
class CouponTemplateAdmin(HuijiModelAdmin):
    list_display = [
        "name",
        "kind",
        "active",
        "claimable",
        "stock",
        "n_issued",
        "n_claimed",
        "n_used",
        "n_expired",
        "redemption_rate",
        "sales",
        "cost",
        "cost_bearer",
    ]
    list_filter = ["kind", "active", "claimable", "auto_issue", "cost_bearer"]
    search_fields = ["name"]
    actions = ["withdraw"]
    readonly_fields = ["issued"]
    filter_horizontal = [
        "eligible_tiers",
        "eligible_stores",
        "eligible_distributors",
        "usable_stores",
    ]
    fieldsets = [
        (None, {"fields": ["name", "kind", "active", "description"]}),
        (
            _("What it takes off"),
            {"fields": ["threshold", "amount", "percent_off", "max_discount", "gift_sku"]},
        ),
        (_("When it can be used"), {"fields": ["valid_from", "valid_until", "valid_days"]}),
        (
            _("How members get it"),
            {
                "fields": [
                    "claimable",
                    "claim_starts_at",
                    "claim_ends_at",
                    "points_price",
                    "auto_issue",
                ]
            },
        ),
        (
            _("How many"),
            {
                "fields": [
                    "total_stock",
                    "issued",
                    "per_member_limit",
                    "daily_limit",
                    "per_store_limit",
                ]
            },
        ),
        (
            _("Who may have it"),
            {
                "fields": [
                    "eligible_tiers",
                    "new_members_only",
                    "eligible_stores",
                    "eligible_distributors",
                ]
            },
        ),
        (
            _("Where it can be used"),
            {
                "fields": [
                    "channels",
                    "usable_stores",
                    "include_skus",
                    "include_categories",
                    "exclude_skus",
                    "exclude_categories",
                    "stackable",
                    "cost_bearer",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        return template_stats(super().get_queryset(request))

    @admin.action(description=_("Stop offering the selected templates"), permissions=["change"])
    def withdraw(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        count = templates_withdraw(templates=queryset, actor=request.user)
        for pk in ids:
            template_forget(pk)
        self.message_user(
            request, _("%(n)s templates are no longer offered.") % {"n": count}, messages.SUCCESS
        )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        template_forget(form.instance.pk)

    @admin.display(description=_("stock"))
    def stock(self, template):
        if template.total_stock is None:
            return _("unlimited")
        return f"{template.remaining} / {template.total_stock}"

    @admin.display(description=_("issued"), ordering="n_issued")
    def n_issued(self, template):
        return template.n_issued

    @admin.display(description=_("claimed"), ordering="n_claimed")
    def n_claimed(self, template):
        return template.n_claimed

    @admin.display(description=_("used (orders)"), ordering="n_used")
    def n_used(self, template):
        return template.n_used

    @admin.display(description=_("expired"), ordering="n_expired")
    def n_expired(self, template):
        return template.n_expired

    @admin.display(description=_("redemption rate"))
    def redemption_rate(self, template):
        return f"{template.n_used / template.n_issued:.1%}" if template.n_issued else "—"

    @admin.display(description=_("sales with it"), ordering="sales")
    def sales(self, template):
        return template.sales

    @admin.display(description=_("cost"), ordering="cost")
    def cost(self, template):
        return template.cost


@admin.register(Coupon)
class CouponAdmin(ReadOnlyAdmin):
    list_display = [
        "code",
        "template",
        "member",
        "status",
        "source",
        "valid_until",
        "used_at",
        "used_store",
        "discount",
    ]
    list_filter = ["status", "source", "template"]
    list_select_related = ["template", "member", "used_store"]
    search_fields = ["=code", "=member__phone", "=order_id", "=receipt"]
    date_hierarchy = "issued_at"
    show_full_result_count = False
    actions = ["void"]

    def has_void_permission(self, request):
        return request.user.has_perm("coupons.change_coupon")

    @admin.action(description=_("Void the selected unused coupons"), permissions=["void"])
    def void(self, request, queryset):
        count = coupons_void(coupons=queryset, actor=request.user)
        self.message_user(
            request,
            _("%(n)s coupons voided; used, held or expired ones were left as they are.")
            % {"n": count},
            messages.SUCCESS,
        )


class IssueBatchForm(forms.ModelForm):
    phones_file = forms.FileField(
        label=_("or upload phone numbers"),
        required=False,
        help_text=_("A text or CSV file, one number per line (the first column)."),
    )

    class Meta:
        model = IssueBatch
        fields = ["name", "template", "segment", "phones"]

    def clean(self):
        data = super().clean()
        upload = data.get("phones_file")
        if upload:
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(_("The file must be UTF-8 text.")) from None
            data["phones"] = "\n".join(filter(None, [data.get("phones", ""), text]))
            self.instance.phones = data["phones"]
        phones = data.get("phones", "") if "phones" in self.fields else self.instance.phones
        if not data.get("segment") and not phones.strip():
            raise forms.ValidationError(_("Choose a segment or give phone numbers."))
        return data


@admin.register(IssueBatch)
class IssueBatchAdmin(HuijiModelAdmin):
    form = IssueBatchForm
    list_display = ["name", "template", "status", "progress", "issued", "skipped", "unknown"]
    list_filter = ["status"]
    search_fields = ["name", "template__name"]
    autocomplete_fields = ["template"]
    actions = ["start"]
    readonly_fields = [
        "status",
        "progress",
        "targeted",
        "issued",
        "skipped",
        "unknown",
        "started_at",
        "finished_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None and obj.status != IssueBatch.Status.DRAFT:
            fields += ["name", "template", "segment", "phones"]
        if obj is not None and not request.user.has_perm(MEMBER_PHONE_PERMISSION):
            # A saved list shows masked to those who may not see numbers.
            fields = [name for name in fields if name != "phones"] + ["phones_masked"]
        return fields

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and not request.user.has_perm(MEMBER_PHONE_PERMISSION):
            return [name for name in fields if name not in ("phones", "phones_file")]
        return fields

    @admin.display(description=_("phone numbers"))
    def phones_masked(self, batch):
        return format_html(
            '<pre style="max-height: 20em; overflow: auto">{}</pre>',
            batch_phones_masked(batch),
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description=_("progress"))
    def progress(self, batch):
        if not batch.targeted:
            return "—"
        done = min(batch.issued + batch.skipped, batch.targeted)
        return format_html(
            '<progress max="{}" value="{}"></progress> {} / {}',
            batch.targeted,
            done,
            done,
            batch.targeted,
        )

    @admin.action(description=_("Start issuing the selected batches"), permissions=["change"])
    def start(self, request, queryset):
        for batch in queryset:
            issue_batch_start(batch=batch, actor=request.user)
        self.message_user(
            request, _("Issuing has started; refresh to follow it."), messages.SUCCESS
        )
