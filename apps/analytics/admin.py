from django.contrib import admin

from apps.analytics.models import DailyStoreRollup
from apps.core.admin import ReadOnlyAdmin


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
    ]
    list_filter = ["store", "day"]
    list_select_related = ["store"]
    date_hierarchy = "day"
