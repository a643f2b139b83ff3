from django.utils.translation import gettext_lazy as _

from apps.core.errors import DomainError


class AlreadyPromoter(DomainError):
    code = "already_promoter"
    status = 409
    default_message = _("You have already applied to be a promoter: %(status)s.")


class PromoterNotEligible(DomainError):
    code = "not_eligible"
    status = 409
    default_message = _(
        "Promoters must first have spent %(threshold)s yuan; you have spent %(spent)s."
    )


class PromoterNotDecidable(DomainError):
    code = "already_decided"
    status = 409
    default_message = _("This promoter is %(status)s: that cannot be done now.")


class WithdrawalRefused(DomainError):
    code = "invalid"
    status = 400
    default_message = _("This withdrawal cannot be made.")


class WithdrawalBelowMinimum(WithdrawalRefused):
    default_message = _("The smallest withdrawal is %(minimum)s yuan.")


class WithdrawalInDebt(WithdrawalRefused):
    default_message = _("A refund left %(debt)s yuan to pay back: no withdrawal until it is.")


class WithdrawalAboveAvailable(WithdrawalRefused):
    default_message = _("Only %(available)s yuan is available to withdraw.")


class WithdrawalDailyLimit(WithdrawalRefused):
    default_message = _("At most %(most)s yuan may be withdrawn a day; %(left)s is left today.")


class WithdrawalDailyCount(WithdrawalRefused):
    default_message = _("At most %(most)s withdrawals may be asked a day.")


class WithdrawalNotDecidable(DomainError):
    code = "already_decided"
    status = 409
    default_message = _("This withdrawal is %(status)s: it cannot be decided now.")


class WithdrawalKeyReused(DomainError):
    code = "idempotency_conflict"
    status = 409
    default_message = _("This key was already used for another withdrawal.")


class PayoutsOff(DomainError):
    code = "payouts_off"
    status = 409
    default_message = _("This site pays no withdrawals out: no payout backend is set.")


class PayoutFailed(Exception):
    """The payout backend refused the transfer for good (not a network error: retry that)."""


class PayoutPending(Exception):
    """The transfer is not settled yet (accepted and processing at the gateway, or the
    gateway could not be heard): the withdrawal waits, and a later run settles it."""


class PayoutAwaitsConfirmation(PayoutPending):
    """The gateway pays once the member confirms receipt (WeChat's 商家转账: in the
    mini-program, with wx.requestMerchantTransfer). `package` is what they confirm with, or
    empty when this answer carried none (the one they hold still serves)."""

    def __init__(self, package: str):
        super().__init__("awaiting the member's confirmation")
        self.package = package


class PayeeUnknown(DomainError):
    code = "payee_unknown"
    status = 409
    default_message = _(
        "This promoter has never signed in through the WeChat mini-program: there is no "
        "WeChat account to pay. Refuse the withdrawal, or ask them to sign in there first."
    )


class NotPromoter(DomainError):
    code = "not_promoter"
    status = 404
    default_message = _("You are not a promoter: apply to become one first.")


class UnknownPromoterCode(DomainError):
    code = "invalid"
    status = 400
    default_message = _("No promoter has the code %(code)s: check the link you came through.")
