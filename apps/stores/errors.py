from django.utils.translation import gettext_lazy as _

from apps.core.errors import NotFound, PermissionDenied


class StoreNotFound(NotFound):
    default_message = _("There is no store with code %(code)s.")


class StoreClosed(PermissionDenied):
    code = "store_closed"
    closed_message = _("Store %(code)s is closed: it takes no sales, joins or payments.")
    suspended_message = _(
        "Store %(code)s is suspended: it takes no sales, joins or payments until HQ reopens it."
    )

    def __init__(self, *, store):
        suspended = store.status == store.Status.SUSPENDED
        super().__init__(
            self.suspended_message if suspended else self.closed_message, code=store.code
        )
