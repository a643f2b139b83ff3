"""A store's own mall (一店一商城): which of the products HQ lets it sell it shows, and
which it pins as featured. Who may change it is the caller's to check."""

from django.db import transaction

from apps.core.audit import audit_record
from apps.mall.models import Product, Shelf
from apps.stores.models import Store

UNTOUCHED = {"shown": True, "pinned": False}  # a product with no Shelf row


@transaction.atomic
def shelf_set(
    *, store: Store, product: Product, shown: bool, pinned: bool, actor, ip: str | None = None
) -> None:
    """Show or hide `product` in the store's mall and pin it or not, audited; a hidden
    product is not pinned. Setting what is already set writes nothing."""
    after = {"shown": shown, "pinned": shown and pinned}
    current = Shelf.objects.select_for_update().filter(store=store, product=product).first()
    before = {"shown": current.shown, "pinned": current.pinned} if current else UNTOUCHED
    if before == after:
        return
    shelf, _created = Shelf.objects.update_or_create(store=store, product=product, defaults=after)
    audit_record(actor=actor, action="shelf.set", target=shelf, before=before, after=after, ip=ip)
