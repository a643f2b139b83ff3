"""购物车: a member's cart, kept on the server for one store's mall, shown at the price the
checkout would charge them now (the catalogue prices it; the cart keeps no prices)."""

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _

from apps.core.errors import Invalid
from apps.mall.models import Sku
from apps.mall.selectors import stock_available, stock_state, store_mall_products
from apps.members.models import Member
from apps.orders.builder import ItemInput, checkout_build
from apps.orders.checkout import Priced, order_quote
from apps.orders.models import Cart, CartLine
from apps.orders.selectors import Shopper, shopper_for
from apps.stores.models import Store

CHANNEL = "mall"


@transaction.atomic
def cart_replace(*, member: Member, store: Store, lines: list[tuple[str, int]]) -> None:
    """The member's cart becomes `lines` ((sku, quantity)) from `store`'s mall: every SKU on
    sale there, each once, or nothing changes. The cart's row lock orders concurrent
    replacements: the last one wins whole."""
    codes = [sku for sku, _quantity in lines]
    on_sale = dict(
        Sku.objects.filter(
            sku__in=codes, active=True, product__in=store_mall_products(store)
        ).values_list("sku", "pk")
    )
    problems = [
        _("%(sku)s is in the cart more than once.") % {"sku": sku}
        for sku, times in Counter(codes).items()
        if times > 1
    ] + [
        _("%(sku)s is not on sale in this store.") % {"sku": sku}
        for sku in dict.fromkeys(codes)
        if sku not in on_sale
    ]
    if problems:
        raise Invalid(fields={"lines": problems})
    cart, _created = Cart.objects.update_or_create(member=member, defaults={"store": store})
    cart.lines.all().delete()
    CartLine.objects.bulk_create(
        CartLine(cart=cart, sku_id=on_sale[sku], quantity=quantity, position=position)
        for position, (sku, quantity) in enumerate(lines)
    )


@dataclass(frozen=True)
class CartItem:
    line: CartLine
    my_price: Decimal
    stock_state: str
    on_sale: bool  # still sold in the cart's store: SKUs go off sale after they are added

    @property
    def buyable(self) -> bool:
        return self.on_sale and self.stock_state != "out_of_stock"


@dataclass(frozen=True)
class CartContents:
    store: Store | None
    items: list[CartItem]
    quote: Priced | None  # of the lines that can be bought now; none when there are none


def cart_contents(member: Member) -> CartContents:
    """The member's cart as the mall shows it: each line at their price with its stock, and
    the checkout's quote (mall channel, no coupons or points) of what can be bought now."""
    cart = Cart.objects.filter(member=member).select_related("store").first()
    if cart is None:
        return CartContents(store=None, items=[], quote=None)
    shopper = shopper_for(member, CHANNEL)
    lines = list(
        cart.lines.prefetch_related(
            Prefetch("sku", queryset=shopper.skus().select_related("product"))
        )
    )
    skus = [line.sku for line in lines]
    on_sale = set(
        store_mall_products(cart.store)
        .filter(pk__in={sku.product_id for sku in skus})
        .values_list("pk", flat=True)
    )
    available = stock_available([sku.pk for sku in skus], cart.store)
    items = [
        CartItem(
            line=line,
            my_price=shopper.my_price(line.sku),
            stock_state=stock_state(available.get(line.sku_id, 0)),
            on_sale=line.sku.active and line.sku.product_id in on_sale,
        )
        for line in lines
    ]
    return CartContents(store=cart.store, items=items, quote=_quote(cart.store, shopper, items))


def _quote(store: Store, shopper: Shopper, items: list[CartItem]) -> Priced | None:
    buyable = [
        ItemInput(sku=item.line.sku.sku, quantity=item.line.quantity)
        for item in items
        if item.buyable
    ]
    if not buyable:
        return None
    return order_quote(
        checkout_build(store=store, channel=CHANNEL, member=shopper.member, items=buyable)
    )
