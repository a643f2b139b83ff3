from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from apps.core.admin import HuijiModelAdmin
from apps.distributors.models import Distributor, Region


@admin.register(Region)
class RegionAdmin(HuijiModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Distributor)
class DistributorAdmin(HuijiModelAdmin):
    list_display = [
        "code",
        "name",
        "region",
        "contact_name",
        "contact_phone",
        "store_count",
        "status",
    ]
    list_filter = ["status", "region"]
    search_fields = ["code", "name", "contact_name", "contact_phone"]
    list_select_related = ["region"]
    autocomplete_fields = ["region"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(store_count=Count("stores"))

    @admin.display(description=_("number of stores"), ordering="store_count")
    def store_count(self, obj):
        return obj.store_count
