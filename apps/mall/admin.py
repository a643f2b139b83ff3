from django.contrib import admin

from apps.core.admin import HuijiModelAdmin
from apps.mall.models import Category, Product, Sku


@admin.register(Category)
class CategoryAdmin(HuijiModelAdmin):
    list_display = ["__str__", "position"]


class SkuInline(admin.TabularInline):
    model = Sku
    fields = ["sku", "specs", "price", "member_price", "active"]
    extra = 0


@admin.register(Product)
class ProductAdmin(HuijiModelAdmin):
    list_display = ["title", "category", "members_only", "featured", "active"]
    list_filter = ["category", "members_only", "featured", "active"]
    search_fields = ["title", "=skus__sku"]
    inlines = [SkuInline]
