from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.files.uploadedfile import UploadedFile
from django.db.models import F
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from apps.core.admin import HuijiModelAdmin, ReadOnlyAdmin
from apps.core.audit import request_ip
from apps.mall.images import image_check, product_image_clear, product_image_set
from apps.mall.models import Category, Product, Reservation, Sku, Stock, TierPrice
from apps.mall.stock import stock_count
from apps.stores.models import Store


@admin.register(Category)
class CategoryAdmin(HuijiModelAdmin):
    list_display = ["__str__", "parent", "position"]
    list_filter = [("parent", admin.EmptyFieldListFilter)]
    search_fields = ["name"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "parent":
            kwargs["queryset"] = Category.objects.filter(parent=None)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class SkuForm(forms.ModelForm):
    class Meta:
        model = Sku
        fields = ["sku", "specs", "price", "member_price", "active"]
        help_texts = {"specs": _('Names and values, e.g. {"颜色": "红", "尺码": "M"}.')}

    def clean_specs(self):
        specs = self.cleaned_data["specs"] or {}
        if not isinstance(specs, dict) or not all(
            isinstance(name, str) and name.strip() and isinstance(value, str) and value.strip()
            for name, value in specs.items()
        ):
            raise forms.ValidationError(
                _('Specifications are names with text values, e.g. {"颜色": "红"}.')
            )
        return {name.strip(): value.strip() for name, value in specs.items()}


class SkuInline(admin.TabularInline):
    model = Sku
    form = SkuForm
    extra = 0
    show_change_link = True  # its tier prices are on its own page


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = [
            "title",
            "category",
            "description",
            "image",
            "position",
            "active",
            "on_sale_from",
            "on_sale_until",
            "members_only",
            "everywhere",
            "stores",
            "featured",
        ]

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if isinstance(image, UploadedFile):
            image_check(image)
        return image

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("everywhere") is False and not cleaned.get("stores"):
            self.add_error("stores", _("List the stores that sell it, or sell it everywhere."))
        return cleaned


@admin.register(Product)
class ProductAdmin(HuijiModelAdmin):
    form = ProductForm
    list_display = ["picture", "title", "category", "members_only", "featured", "active"]
    list_display_links = ["picture", "title"]
    list_filter = ["category", "members_only", "featured", "active", "everywhere"]
    search_fields = ["title", "=skus__sku"]
    readonly_fields = ["picture"]
    filter_horizontal = ["stores"]
    fieldsets = [
        (None, {"fields": ["title", "category", "description", "image", "picture", "position"]}),
        (_("Sale"), {"fields": ["active", "on_sale_from", "on_sale_until", "members_only"]}),
        (_("Where"), {"fields": ["everywhere", "stores", "featured"]}),
    ]
    inlines = [SkuInline]

    @admin.display(description=_("thumbnail"))
    def picture(self, product):
        if not product.thumbnail:
            return "—"
        return format_html('<img src="{}" alt="" width="80">', product.thumbnail.url)

    def save_model(self, request, obj, form, change):
        if "image" in form.changed_data:
            if form.cleaned_data["image"]:
                product_image_set(obj, form.cleaned_data["image"])
            else:
                product_image_clear(obj)
        super().save_model(request, obj, form, change)


class TierPriceInline(admin.TabularInline):
    model = TierPrice
    extra = 0


@admin.register(Sku)
class SkuAdmin(HuijiModelAdmin):
    form = SkuForm
    list_display = ["sku", "product", "price", "member_price", "active"]
    list_filter = ["active", "product__category"]
    search_fields = ["=sku", "product__title"]
    list_select_related = ["product"]
    fields = ["product", *SkuForm.Meta.fields]
    inlines = [TierPriceInline]


class LocationFilter(admin.SimpleListFilter):
    title = _("location")
    parameter_name = "location"
    WAREHOUSE = "hq"

    def lookups(self, request, model_admin):
        return [
            (self.WAREHOUSE, _("HQ warehouse")),
            *Store.objects.order_by("code").values_list("code", "name"),
        ]

    def queryset(self, request, queryset):
        if self.value() == self.WAREHOUSE:
            return queryset.filter(store=None)
        if self.value():
            return queryset.filter(store__code=self.value())
        return queryset


class LowStockFilter(admin.SimpleListFilter):
    title = _("what is left")
    parameter_name = "left"

    def lookups(self, request, model_admin):
        return [
            ("low", _("Low (%(n)d or fewer)") % {"n": settings.MALL_LOW_STOCK}),
            ("none", _("Sold out")),
        ]

    def queryset(self, request, queryset):
        left = queryset.annotate(left=F("on_hand") - F("reserved"))
        if self.value() == "low":
            return left.filter(left__lte=settings.MALL_LOW_STOCK)
        if self.value() == "none":
            return left.filter(left__lte=0)
        return queryset


class StockForm(forms.ModelForm):
    class Meta:
        model = Stock
        fields = ["sku", "store", "on_hand"]

    def clean_on_hand(self):
        # What a reader sees; stock_count checks again under the row's lock.
        on_hand = self.cleaned_data["on_hand"]
        if on_hand < self.instance.reserved:
            raise forms.ValidationError(
                _("On hand cannot be below the %(reserved)d that orders have reserved.")
                % {"reserved": self.instance.reserved}
            )
        return on_hand


@admin.register(Stock)
class StockAdmin(HuijiModelAdmin):
    form = StockForm
    list_display = ["sku", "product", "location", "on_hand", "reserved", "left"]
    list_filter = [LocationFilter, LowStockFilter]
    search_fields = ["=sku__sku", "sku__product__title"]
    list_select_related = ["sku__product", "store"]
    ordering = ["sku__sku", "store__code"]

    @admin.display(description=_("product"))
    def product(self, stock):
        return stock.sku.product.title

    @admin.display(description=_("location"))
    def location(self, stock):
        return stock.store or _("HQ warehouse")

    @admin.display(description=_("can be sold"))
    def left(self, stock):
        return stock.on_hand - stock.reserved

    def get_readonly_fields(self, request, obj=None):
        return ["sku", "store", "reserved"] if obj else ["reserved"]

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        stock_count(
            stock_id=obj.pk,
            on_hand=form.cleaned_data["on_hand"],
            actor=request.user,
            ip=request_ip(request),
        )


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ["order_id", "stock", "quantity", "released", "handed_over", "created_at"]
    search_fields = ["=order_id", "=stock__sku__sku"]
    list_select_related = ["stock"]
