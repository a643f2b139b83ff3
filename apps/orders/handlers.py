"""What the orders app does when other apps' events happen."""

from apps.core.events import on_event
from apps.orders.imports import order_import_rows_forget
from apps.orders.models import Cart, Order
from apps.orders.personal_data import deliveries_recipient_forget


@on_event("member_merged")
def move_orders_of_merged_member(event) -> None:
    """Purchase history follows the person into the surviving member."""
    Order.objects.filter(member_id=event.payload["merged"]).update(
        member_id=event.payload["survivor"]
    )


@on_event("member_merged")
def drop_cart_of_merged_member(event) -> None:
    """A member has one cart: the survivor keeps theirs."""
    Cart.objects.filter(member_id=event.payload["merged"]).delete()


@on_event("member_deleted")
def forget_deleted_member_in_import_reports(event) -> None:
    order_import_rows_forget(member_id=event.payload["member"])


@on_event("member_deleted")
def drop_cart_of_deleted_member(event) -> None:
    Cart.objects.filter(member_id=event.payload["member"]).delete()


@on_event("member_deleted")
def forget_recipients_of_deleted_member(event) -> None:
    deliveries_recipient_forget(member_id=event.payload["member"])
