from django.utils.translation import gettext_lazy as _

from apps.core.errors import PermissionDenied


class NotAtTill(PermissionDenied):
    """Someone who may read a store's pages but does not work its till
    (apps.stores.scoping.works_till)."""

    code = "not_at_till"
    default_message = _(
        "Only the store's owners, managers, clerks and guides work its counter. You can read "
        "this store's pages, but not look up members, record sales, redeem coupons or text "
        "codes here."
    )
