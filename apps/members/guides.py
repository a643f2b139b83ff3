"""Who a guide (导购) may be credited for: the one rule behind a join through a store's or a
guide's link, a store joined in the mini-program, and a sale at a till or a counter."""

from apps.members.selectors import guide_by_code
from apps.stores.models import Staff, Store


def guide_for(store: Store | None, guide: Staff | str | None) -> Staff | None:
    """The guide a member who joins, or a sale made, at `store` is credited to: the staff
    member given (or the one with this guide code) only while they work at `store`
    (`Staff.serves`). Another store's guide, one who left, an unknown code, or no store at
    all credit no one."""
    if isinstance(guide, str):
        guide = guide_by_code(guide)
    if guide is None or store is None or not guide.serves(store):
        return None
    return guide
