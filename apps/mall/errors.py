from django.utils.translation import gettext_lazy as _

from apps.core.errors import DomainError, NotFound


class OutOfStock(DomainError):
    code = "out_of_stock"
    status = 409
    default_message = _("%(sku)s is out of stock: only %(left)d left.")


class ProductNotFound(NotFound):
    default_message = _("This product is not on sale here.")


class StockBelowReserved(DomainError):
    code = "stock_below_reserved"
    status = 409
    default_message = _(
        "%(sku)s: on hand cannot be below the %(reserved)d that orders have reserved."
    )
