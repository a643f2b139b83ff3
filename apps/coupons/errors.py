from django.utils.translation import gettext_lazy as _

from apps.core.errors import DomainError, Invalid, NotFound


class CouponTemplateNotFound(NotFound):
    default_message = _("This coupon does not exist or can no longer be claimed.")


class CouponNotFound(NotFound):
    default_message = _("No coupon has this code.")


class SoldOut(DomainError):
    code = "sold_out"
    status = 409
    default_message = _("Sorry, this coupon is all gone.")


class LimitReached(DomainError):
    code = "limit_reached"
    status = 409
    default_message = _("You already have as many of this coupon as one member may.")


class NotEligible(DomainError):
    code = "not_eligible"
    status = 403
    default_message = _("This coupon is not for you: %(reason)s")


class AlreadyUsed(DomainError):
    code = "already_used"
    status = 409
    default_message = _("This coupon has already been used.")


class CouponExpired(DomainError):
    code = "expired"
    status = 400
    default_message = _("This coupon has expired.")


class CouponNotUsable(DomainError):
    code = "not_eligible"
    status = 403
    default_message = _("This coupon cannot be used here: %(reason)s")


class CouponLocked(DomainError):
    code = "already_used"
    status = 409
    default_message = _("This coupon is held by another unpaid order.")


class BatchNotReady(Invalid):
    default_message = _("This batch has no members to issue to.")
