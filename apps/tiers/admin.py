from django.contrib import admin

from apps.core.admin import HuijiModelAdmin, ReadOnlyAdmin
from apps.tiers.models import GrowthEntry, Tier, TierChange, TierChannelBenefit


class TierChannelBenefitInline(admin.TabularInline):
    model = TierChannelBenefit
    extra = 0


@admin.register(Tier)
class TierAdmin(HuijiModelAdmin):
    list_display = [
        "rank",
        "code",
        "name",
        "growth_threshold",
        "discount_percent",
        "points_multiplier",
        "free_shipping",
        "members_only_access",
    ]
    search_fields = ["code", "name"]
    inlines = [TierChannelBenefitInline]


@admin.register(GrowthEntry)
class GrowthEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "member", "kind", "amount", "description"]
    list_filter = ["kind", "created_at"]
    list_select_related = ["member"]
    search_fields = ["=key", "cause", "member__name"]


@admin.register(TierChange)
class TierChangeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "member", "from_tier", "to_tier", "reason", "note"]
    list_filter = ["reason", "to_tier", "created_at"]
    list_select_related = ["member", "from_tier", "to_tier"]
    search_fields = ["member__name", "note"]
