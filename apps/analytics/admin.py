from django.contrib import admin

from apps.analytics.models import DailyStoreRollup, StoreFlagRule
from apps.core.admin import HuijiModelAdmin, ReadOnlyAdmin


@admin.register(DailyStoreRollup)
class DailyStoreRollupAdmin(ReadOnlyAdmin):
    list_display = [
        "day",
        "store",
        "new_members",
        "visits",
        "orders",
        "member_orders",
        "sales",
        "member_sales",
        "refunds",
        "coupons_used",
        "points_issued",
        "points_redeemed",
        "manual_actions",
        "manual_points",
        "coupons_gifted",
    ]
    list_filter = ["store", "day"]
    list_select_related = ["store"]
    date_hierarchy = "day"


@admin.register(StoreFlagRule)
class StoreFlagRuleAdmin(HuijiModelAdmin):
    list_display = ["figure", "days", "multiple", "min_volume", "active"]
    list_editable = ["days", "multiple", "min_volume", "active"]
