from django.contrib import admin
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from apps.core.admin import HuijiModelAdmin
from apps.core.audit import request_ip
from apps.stores.models import PosApiKey, Staff, Store
from apps.stores.posters import store_join_url, store_pay_url, store_poster_png
from apps.stores.services import pos_key_create, pos_key_revoke


class StaffInline(admin.TabularInline):
    model = Staff
    fk_name = "store"
    fields = ["user", "role", "guide_code", "is_active"]
    readonly_fields = ["guide_code"]
    autocomplete_fields = ["user"]
    extra = 0


class PosApiKeyInline(admin.TabularInline):
    model = PosApiKey
    fields = ["prefix", "name", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Store)
class StoreAdmin(HuijiModelAdmin):
    list_display = ["code", "name", "kind", "distributor", "city", "status", "poster_link"]
    list_filter = ["kind", "status", "distributor", "city"]
    search_fields = ["code", "name", "city", "address", "phone"]
    list_select_related = ["distributor"]
    autocomplete_fields = ["distributor"]
    readonly_fields = ["join_url", "poster_link", "pay_url", "pay_poster_link"]
    fieldsets = [
        (None, {"fields": ["code", "name", "kind", "distributor", "status", "opened_on"]}),
        (
            _("Location"),
            {
                "fields": [
                    "province",
                    "city",
                    "district",
                    "address",
                    "phone",
                    "latitude",
                    "longitude",
                ]
            },
        ),
        (_("Store code (一店一码)"), {"fields": ["join_url", "poster_link"]}),
        (
            _("Store payment (在线收款)"),
            {"fields": ["pay_enabled", "pay_tier_discount", "pay_url", "pay_poster_link"]},
        ),
    ]
    inlines = [StaffInline, PosApiKeyInline]

    def get_urls(self):
        poster = path(
            "<int:pk>/poster.png",
            self.admin_site.admin_view(self.poster_view),
            name="stores_store_poster",
        )
        pay_poster = path(
            "<int:pk>/pay-poster.png",
            self.admin_site.admin_view(self.poster_view),
            {"pay": True},
            name="stores_store_pay_poster",
        )
        return [poster, pay_poster, *super().get_urls()]

    def poster_view(self, request, pk, pay=False):
        store = get_object_or_404(Store, pk=pk)
        if not self.has_view_permission(request, store):
            return HttpResponse(status=403)
        response = HttpResponse(store_poster_png(store, pay=pay), content_type="image/png")
        name = f"{'pay-' if pay else ''}poster-{store.code}.png"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @admin.display(description=_("join link"))
    def join_url(self, obj):
        return store_join_url(obj) if obj.pk else "—"

    @admin.display(description=_("QR poster"))
    def poster_link(self, obj):
        if not obj.pk:
            return "—"
        url = reverse("admin:stores_store_poster", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download PNG"))

    @admin.display(description=_("pay link"))
    def pay_url(self, obj):
        return store_pay_url(obj) if obj.pk else "—"

    @admin.display(description=_("pay QR poster"))
    def pay_poster_link(self, obj):
        if not obj.pk:
            return "—"
        url = reverse("admin:stores_store_pay_poster", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download PNG"))


@admin.register(Staff)
class StaffAdmin(HuijiModelAdmin):
    list_display = ["user", "store", "distributor", "role", "guide_code", "is_active"]
    list_filter = ["role", "is_active", "distributor", "store"]
    search_fields = [
        "user__username",
        "user__first_name",
        "user__last_name",
        "user__phone",
        "guide_code",
    ]
    list_select_related = ["user", "store", "distributor"]
    autocomplete_fields = ["user", "store", "distributor"]
    readonly_fields = ["guide_code"]


@admin.register(PosApiKey)
class PosApiKeyAdmin(HuijiModelAdmin):
    list_display = ["prefix", "name", "store", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "store"]
    search_fields = ["prefix", "name", "store__code", "store__name"]
    list_select_related = ["store"]
    autocomplete_fields = ["store"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["store", "name"]
        return ["store", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def save_model(self, request, obj, form, change):
        key, obj.raw_key = pos_key_create(store=obj.store, name=obj.name, actor=request.user)
        obj.pk, obj.prefix = key.pk, key.prefix

    def response_add(self, request, obj, post_url_continue=None):
        """The new key is shown on the page that answers its creation, and only there: not
        in a message, which would carry it in a cookie, nor in the session. Admin pages
        are never cached (admin_view), so going back does not show it again either."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("New POS key"),
            "key": obj,
            "raw_key": obj.raw_key,
        }
        return TemplateResponse(request, "admin/stores/posapikey/created.html", context)

    def has_delete_permission(self, request, obj=None):
        return False  # keys are revoked, never deleted, so the audit trail keeps its target

    @admin.action(description=_("Revoke the selected keys"), permissions=["change"])
    def revoke(self, request, queryset):
        for key in queryset.filter(revoked_at__isnull=True):
            pos_key_revoke(key=key, actor=request.user, reason=f"admin, from {request_ip(request)}")
        self.message_user(request, _("The selected keys no longer work."))
