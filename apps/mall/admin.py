from django.contrib import admin

from apps.core.admin import HuijiModelAdmin
from apps.mall.models import Product


@admin.register(Product)
class ProductAdmin(HuijiModelAdmin):
    list_display = ["sku", "name", "category", "price", "member_price", "members_only", "active"]
    list_filter = ["category", "members_only", "active"]
    list_editable = ["price", "member_price", "active"]
    search_fields = ["=sku", "name"]
