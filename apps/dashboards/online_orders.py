"""Online orders a store hands over: pickups waiting at its counter (handed over there, with
the member's pickup code, which this list never shows) and deliveries that ship from it.
Whoever may see the store reads the list; its or its dealer's owners and managers ship.
HQ ships what leaves its warehouse in the console, never a store's parcels."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.core.errors import DomainError
from apps.dashboards.forms import ShipForm
from apps.dashboards.views import store_page, store_render
from apps.orders.errors import FulfilmentNotFound
from apps.orders.fulfilment import delivery_ship
from apps.orders.models import Order
from apps.orders.selectors import store_orders_to_hand_over
from apps.stores.models import Staff
from apps.stores.scoping import store_roles

ORDERS_PER_PAGE = 20
SHIP_ROLES = frozenset({Staff.Role.OWNER, Staff.Role.MANAGER})


def ships_from(user, store) -> bool:
    """Whether `user` may ship the store's parcels: its or its dealer's owner or manager."""
    return bool(store_roles(user, store) & SHIP_ROLES)


def _page(request, store, *, status: int = 200):
    page = Paginator(store_orders_to_hand_over(store), ORDERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return store_render(
        request,
        "dashboards/online_orders.html",
        store,
        status=status,
        page=page,
        may_ship=ships_from(request.user, store),
        ship_form=ShipForm(),
    )


@store_page
def online_orders(request, store):
    return _page(request, store)


@require_POST
@store_page
def online_order_ship(request, store, order_no):
    if not ships_from(request.user, store):
        messages.error(request, _("Only the store's owner or manager ships its orders."))
        return _page(request, store, status=403)
    form = ShipForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Type the carrier and the tracking number."))
        return redirect("dashboards:online-orders", code=store.code)
    try:
        order_id = Order.objects.filter(order_no=order_no).values_list("pk", flat=True).first()
        if order_id is None:
            raise FulfilmentNotFound()
        delivery_ship(
            order_id=order_id,
            ship_from=store,
            carrier=form.cleaned_data["carrier"],
            tracking_no=form.cleaned_data["tracking_no"],
            actor=request.user,
        )
    except DomainError as error:
        messages.error(request, error.render())
    else:
        messages.success(request, _("Order %(order_no)s shipped.") % {"order_no": order_no})
    return redirect("dashboards:online-orders", code=store.code)
