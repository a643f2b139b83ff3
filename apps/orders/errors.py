from django.utils.translation import gettext_lazy as _

from apps.core.errors import DomainError, Invalid, NotFound, PermissionDenied
from apps.core.outages import RETRY_AFTER_SECONDS


class DuplicateOrder(DomainError):
    code = "duplicate"
    status = 409
    default_message = _(
        "This store already has an order with external id %(external_id)s, sent with another "
        "Idempotency-Key."
    )


class OrderNotFound(NotFound):
    default_message = _("No order of this store has this external id.")


class MembersOnly(Invalid):
    default_message = _("%(name)s is for members only: identify the member first.")


class EmptyOrder(Invalid):
    default_message = _("An order needs at least one line.")


class OrderTooLarge(Invalid):
    default_message = _("An order may come to at most %(most)s yuan.")


class RefundTooLarge(Invalid):
    default_message = _("At most %(refundable)s yuan can still be refunded on this order.")


class RefundLineUnknown(Invalid):
    default_message = _("The order has no %(quantity)d more of %(sku)s to refund.")


class OrderNotRefundable(Invalid):
    default_message = _("Only a paid order can be refunded.")


class PaymentRejected(DomainError):
    code = "invalid"
    status = 400
    default_message = _("This payment notification could not be verified.")


class OrderNotPayable(DomainError):
    code = "expired"
    status = 400
    default_message = _("This order can no longer be paid: it was cancelled or it expired.")


class StoreRequired(Invalid):
    default_message = _("Choose the store this order is for.")


class ProductUnavailable(Invalid):
    default_message = _("%(sku)s is not on sale.")


class PaymentGatewayError(DomainError):
    code = "payment_unavailable"
    status = 503
    default_message = _("The payment service did not answer. Please try again in a moment.")
    retry_after = RETRY_AFTER_SECONDS

    def __init__(self, detail: str = ""):
        super().__init__()
        self.detail = detail  # what went wrong, for the log and finance, never for the member


class WechatPayerUnknown(Invalid):
    default_message = _("Sign in with WeChat to pay with WeChat Pay.")


class WechatBrowserPayerUnknown(Invalid):
    default_message = _(
        "Open this page in WeChat and let it sign you in to pay with WeChat Pay here."
    )


class PaymentChannelFixed(DomainError):
    code = "not_payable"
    status = 409
    default_message = _(
        "This order's payment was started in another place (the mini-program or WeChat's "
        "browser): finish paying it there."
    )


class NoticeOrderUnknown(NotFound):
    default_message = _("No order has the number this payment notice names.")


class NotSoldAtStore(Invalid):
    default_message = _("%(sku)s is not sold in this store's mall.")


class AddressRequired(Invalid):
    default_message = _("Choose the address to deliver to.")


class PickupNotFound(NotFound):
    default_message = _("No order to pick up at this store has this pickup code.")


class PickupAlreadyUsed(DomainError):
    code = "already_used"
    status = 409
    default_message = _("This pickup code was already used: the goods were handed over.")


class FulfilmentNotFound(NotFound):
    default_message = _("No order to ship from here has this number.")


class OrderNotPaidYet(DomainError):
    code = "not_paid"
    status = 409
    default_message = _("This order is not paid yet: its goods are handed over once it is paid.")


class OrderCancelled(DomainError):
    code = "cancelled"
    status = 409
    default_message = _("This order was cancelled: it has no goods to hand over.")


class OrderRefunded(DomainError):
    code = "refunded"
    status = 409
    default_message = _("This order was refunded: it has no goods to hand over.")


class NothingToShip(DomainError):
    code = "not_to_ship"
    status = 409
    default_message = _("This order has nothing to ship: it is picked up, or already received.")


class NotShipped(DomainError):
    code = "not_shipped"
    status = 409
    default_message = _("Only an order that was shipped and not received yet can be received.")


class RefundRequestOpen(DomainError):
    code = "duplicate"
    status = 409
    default_message = _(
        "This order already has a refund request waiting: wait for its answer or withdraw it."
    )


class RefundRequestNotAllowed(DomainError):
    code = "not_refundable"
    status = 409
    default_message = _("Only an order paid online can have a refund request.")


class RefundRequestDecided(DomainError):
    code = "already_used"
    status = 409
    default_message = _("This refund request was already %(status)s.")


class RefundRequestNotFound(NotFound):
    default_message = _("This order has no such refund request.")


class StorePayOff(PermissionDenied):
    code = "store_pay_off"
    default_message = _("Store %(code)s does not take payments by its pay QR.")


class JoinToPay(PermissionDenied):
    code = "join_required"
    default_message = _(
        "Join store %(code)s to pay it here: your member benefits then apply to the payment."
    )
