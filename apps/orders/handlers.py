"""What the orders app does when other apps' events happen."""

from apps.core.events import on_event
from apps.orders.models import Order


@on_event("member_merged")
def move_orders_of_merged_member(event) -> None:
    """Purchase history follows the person into the surviving member."""
    Order.objects.filter(member_id=event.payload["merged"]).update(
        member_id=event.payload["survivor"]
    )
