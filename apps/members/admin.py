from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.core.admin import HuijiModelAdmin
from apps.members.models import Member, MemberIdentity, StoreVisit

PHONE_PERMISSION = "members.view_member_phone"


class MemberIdentityInline(admin.TabularInline):
    model = MemberIdentity
    fields = ["kind", "value", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class StoreVisitInline(admin.TabularInline):
    model = StoreVisit
    fields = ["created_at", "store", "guide"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ["-created_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("store", "guide__user")


@admin.register(Member)
class MemberAdmin(HuijiModelAdmin):
    list_display = [
        "id",
        "phone_masked",
        "name",
        "home_store",
        "status",
        "joined_at",
        "last_active_at",
    ]
    list_filter = [
        "status",
        "marketing_consent",
        "gender",
        "source",
        "home_store__distributor",
        "home_store",
    ]
    list_select_related = ["home_store"]
    search_fields = ["name", "referral_code"]
    search_help_text = _(
        "Full mobile number, its last four digits, name, referral code or a channel id"
    )
    autocomplete_fields = ["home_store", "guide", "referrer"]
    date_hierarchy = "joined_at"
    inlines = [MemberIdentityInline, StoreVisitInline]
    fieldsets = [
        (None, {"fields": ["phone_masked", "name", "gender", "birthday", "status"]}),
        (
            _("Where they came from"),
            {"fields": ["home_store", "guide", "referrer", "source", "joined_at"]},
        ),
        (
            _("Consent and activity"),
            {
                "fields": [
                    "marketing_consent",
                    "consent_at",
                    "consent_channel",
                    "last_active_at",
                    "referral_code",
                ]
            },
        ),
    ]

    # Phone numbers are masked unless the HQ user has the permission to see them; those
    # who have it see and edit the number itself.

    def get_list_display(self, request):
        if not request.user.has_perm(PHONE_PERMISSION):
            return self.list_display
        return ["phone_full" if f == "phone_masked" else f for f in self.list_display]

    def get_fieldsets(self, request, obj=None):
        if not request.user.has_perm(PHONE_PERMISSION):
            return self.fieldsets
        return [
            (
                title,
                {
                    **options,
                    "fields": ["phone" if f == "phone_masked" else f for f in options["fields"]],
                },
            )
            for title, options in self.fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = ["phone_masked"]
        if obj is not None:
            readonly += ["source", "joined_at", "last_active_at", "referral_code", "consent_at"]
        return readonly

    @admin.display(description=_("mobile"), ordering="phone")
    def phone_full(self, obj):
        return obj.phone or "—"

    @admin.display(description=_("mobile"), ordering="phone")
    def phone_masked(self, obj):
        return obj.phone_masked or "—"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if term.isdigit() and len(term) == 4:
            return queryset.filter(phone__endswith=term), False
        if term.isdigit() and len(term) == 11:
            return queryset.filter(phone=term), False
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if term:
            results = results | queryset.filter(Q(identities__value=term))
            may_have_duplicates = True
        return results, may_have_duplicates
