"""The mall as a member, or a visitor not yet signed in, browses it: a store's own mall
(一店一商城) or HQ's (no store), its products at the member's own price, and the cart the
server keeps for them."""

import django_filters
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.utils import translate_validation
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.pagination import PageNumberPagination, page_of
from apps.core.errors import Invalid
from apps.mall.errors import ProductNotFound
from apps.mall.models import Category, Product
from apps.mall.selectors import stock_available, stock_state, store_mall_products
from apps.miniprogram.api.base import MemberApi
from apps.miniprogram.api.stores import StoreDetailApi
from apps.miniprogram.authentication import MemberTokenAuthentication
from apps.orders.api import QuoteOutputSerializer
from apps.orders.cart import CHANNEL, CartContents, cart_contents, cart_replace
from apps.orders.selectors import Shopper, shopper_for
from apps.stores.models import Store
from apps.stores.selectors import store_by_code, store_get_by_code

FEATURED_MOST = 20  # products on a mall's front page

StoreSerializer = StoreDetailApi.OutputSerializer


def _money(**kwargs):
    return serializers.DecimalField(max_digits=12, decimal_places=2, **kwargs)


class CategorySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SkuSerializer(serializers.Serializer):
    sku = serializers.CharField()
    specs = serializers.DictField(help_text="颜色, 尺码…")
    price = _money()
    my_price = _money()
    stock_state = serializers.ChoiceField(choices=["in_stock", "low", "out_of_stock"])


class ProductSerializer(serializers.Serializer):
    """A product of API.md: its price and my_price are its lowest SKU's, its stock_state
    its best-stocked SKU's."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    image = serializers.ImageField(allow_null=True)
    thumbnail = serializers.ImageField(allow_null=True)
    price = _money()
    my_price = _money(help_text="What the caller pays for one unit (the price when signed out).")
    members_only = serializers.BooleanField()
    featured = serializers.BooleanField(help_text="HQ's 爆款, or pinned by the store.")
    stock_state = serializers.ChoiceField(choices=["in_stock", "low", "out_of_stock"])
    category = CategorySerializer()


class ProductDetailSerializer(ProductSerializer):
    description = serializers.CharField()
    skus = SkuSerializer(many=True)


class MallCategorySerializer(CategorySerializer):
    children = CategorySerializer(many=True)


class MallSerializer(serializers.Serializer):
    store = StoreSerializer()
    featured = ProductSerializer(many=True)
    categories = MallCategorySerializer(many=True)


def _mall_products(store: Store | None, shopper: Shopper) -> QuerySet[Product]:
    """What the mall shows this shopper, with what pricing and stock read prefetched:
    members-only products to members only."""
    products = store_mall_products(store).select_related("category")
    if shopper.member is None:
        products = products.exclude(members_only=True)
    return products.prefetch_related(
        Prefetch("skus", queryset=shopper.skus().filter(active=True), to_attr="on_sale_skus")
    )


def _products_data(products, store: Store | None, shopper: Shopper, *, skus=False) -> list:
    products = list(products)
    available = stock_available(
        [sku.pk for product in products for sku in product.on_sale_skus], store
    )
    data = []
    for product in products:
        rows = [
            {
                "sku": sku.sku,
                "specs": sku.specs,
                "price": sku.price,
                "my_price": shopper.my_price(sku),
                "stock_state": stock_state(available.get(sku.pk, 0)),
            }
            for sku in product.on_sale_skus
        ]
        if not rows:  # its last SKU went off sale since the products were read
            continue
        item = {
            "id": product.pk,
            "title": product.title,
            "image": product.image,
            "thumbnail": product.thumbnail,
            "price": min(row["price"] for row in rows),
            "my_price": min(row["my_price"] for row in rows),
            "members_only": product.members_only,
            "featured": product.featured or product.pinned,
            "stock_state": stock_state(
                max(available.get(sku.pk, 0) for sku in product.on_sale_skus)
            ),
            "category": product.category,
        }
        if skus:
            item.update(description=product.description, skus=rows)
        data.append(item)
    return data


def _categories(products: QuerySet[Product]) -> list[Category]:
    """The categories that have something in the mall, top ones with their children."""
    used = set()
    for pair in products.order_by().values_list("category_id", "category__parent_id").distinct():
        used.update(pair)
    return list(
        Category.objects.filter(parent=None, pk__in=used).prefetch_related(
            Prefetch("children", queryset=Category.objects.filter(pk__in=used))
        )
    )


class MallApi(APIView):
    """Open to visitors, as a store's mall is shown before sign-in: a member's token, when
    sent, prices it for them and shows them members-only products."""

    authentication_classes = [MemberTokenAuthentication]
    permission_classes = [AllowAny]

    @property
    def shopper(self) -> Shopper:
        if not hasattr(self, "_shopper"):
            user = self.request.user
            self._shopper = shopper_for(user.member if user.is_authenticated else None, CHANNEL)
        return self._shopper


class MallFilter(django_filters.FilterSet):
    store = django_filters.ModelChoiceFilter(
        queryset=Store.objects.all(),
        to_field_name="code",
        method="of_store",
        label=_("Store code (none: HQ's mall)"),
        error_messages={"invalid_choice": _("There is no store with this code.")},
    )

    class Meta:
        model = Product
        fields = []

    def of_store(self, products, _name, _store):
        return products  # the store picks the mall the list is of (`_mall_products`)

    @classmethod
    def parse(cls, request) -> "MallFilter":
        """The filters of the query, or 400 (a store code of no store, say)."""
        filters = cls(request.query_params, queryset=Product.objects.none())
        if not filters.is_valid():
            raise translate_validation(filters.errors)
        return filters

    @property
    def mall_store(self) -> Store | None:
        """The store whose mall is asked for; None: HQ's."""
        return self.form.cleaned_data["store"]


class ProductFilter(MallFilter):
    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.all(), method="in_category", label=_("Category")
    )
    q = django_filters.CharFilter(method="search", max_length=50, label=_("Title contains"))

    def in_category(self, products, _name, category):
        return products.filter(Q(category=category) | Q(category__parent=category))

    def search(self, products, _name, value):
        value = value.strip()
        return products.filter(title__icontains=value) if value else products


_STORE = OpenApiParameter("store", str, description="Store code; none: HQ's mall")


class StoreMallApi(MallApi):
    @extend_schema(responses=MallSerializer, operation_id="store_mall")
    def get(self, request, code):
        """A store's mall front page: its featured products (pinned by the store or HQ's
        爆款, pinned first) and the categories it has products in."""
        store = store_get_by_code(code)
        products = _mall_products(store, self.shopper)
        featured = products.filter(Q(pinned=True) | Q(featured=True))[:FEATURED_MOST]
        data = {
            "store": store,
            "featured": _products_data(featured, store, self.shopper),
            "categories": _categories(products),
        }
        return Response(MallSerializer(data, context={"request": request}).data)


class ProductsApi(MallApi):
    @extend_schema(
        parameters=[
            _STORE,
            OpenApiParameter("category", int, description="With its subcategories"),
            OpenApiParameter("q", str, description="Words of the title"),
        ],
        responses=page_of(ProductSerializer),
        operation_id="products",
    )
    def get(self, request):
        filters = ProductFilter.parse(request)
        store = filters.mall_store
        products = filters.filter_queryset(_mall_products(store, self.shopper))
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(products, request, view=self)
        data = _products_data(page, store, self.shopper)
        return paginator.get_paginated_response(
            ProductSerializer(data, many=True, context={"request": request}).data
        )


class ProductApi(MallApi):
    @extend_schema(parameters=[_STORE], responses=ProductDetailSerializer, operation_id="product")
    def get(self, request, product_id):
        store = MallFilter.parse(request).mall_store
        product = _mall_products(store, self.shopper).filter(pk=product_id)
        data = _products_data(product, store, self.shopper, skus=True)
        if not data:
            raise ProductNotFound()
        return Response(ProductDetailSerializer(data[0], context={"request": request}).data)


class CartInputSerializer(serializers.Serializer):
    store_code = serializers.CharField(max_length=16)
    lines = serializers.ListField(
        child=inline_serializer(
            "CartLineInput",
            {
                "sku": serializers.CharField(max_length=64),
                "quantity": serializers.IntegerField(min_value=1, max_value=99),
            },
        ),
        allow_empty=True,
        max_length=50,
    )


class CartLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    specs = serializers.DictField()
    quantity = serializers.IntegerField()
    unit_price = _money()
    my_price = _money()
    stock_state = serializers.ChoiceField(choices=["in_stock", "low", "out_of_stock"])
    on_sale = serializers.BooleanField(help_text="Still sold in the cart's store.")
    image = serializers.ImageField(allow_null=True)


class CartSerializer(serializers.Serializer):
    store = StoreSerializer(allow_null=True)
    lines = CartLineSerializer(many=True)
    quote = QuoteOutputSerializer(
        allow_null=True,
        help_text="The checkout's quote of the lines on sale and in stock (none: no such line).",
    )


def _cart_data(contents: CartContents, request) -> dict:
    lines = [
        {
            "sku": item.line.sku.sku,
            "name": item.line.sku.name,
            "specs": item.line.sku.specs,
            "quantity": item.line.quantity,
            "unit_price": item.line.sku.price,
            "my_price": item.my_price,
            "stock_state": item.stock_state,
            "on_sale": item.on_sale,
            "image": item.line.sku.product.thumbnail or item.line.sku.product.image,
        }
        for item in contents.items
    ]
    data = {
        "store": contents.store,
        "lines": lines,
        "quote": contents.quote.as_dict() if contents.quote else None,
    }
    return CartSerializer(data, context={"request": request}).data


class MeCartApi(MemberApi):
    @extend_schema(responses=CartSerializer, operation_id="me_cart")
    def get(self, request):
        return Response(_cart_data(cart_contents(self.member), request))

    @extend_schema(
        request=CartInputSerializer, responses=CartSerializer, operation_id="me_cart_put"
    )
    def put(self, request):
        """The cart becomes these lines from this store's mall (all of them, or 400 and
        nothing changes). An empty list empties it."""
        data = CartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        store = store_by_code(values["store_code"])
        if store is None:
            raise Invalid(fields={"store_code": [_("There is no store with this code.")]})
        cart_replace(
            member=self.member,
            store=store,
            lines=[(line["sku"], line["quantity"]) for line in values["lines"]],
        )
        return Response(_cart_data(cart_contents(self.member), request))
