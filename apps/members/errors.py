from django.utils.translation import gettext_lazy as _

from apps.core.errors import DomainError, Invalid, NotFound, PermissionDenied


class WrongCode(DomainError):
    code = "wrong_code"
    status = 400
    default_message = _("The code is wrong or has expired. Please request a new one.")


class MemberNotFound(NotFound):
    default_message = _("No member was found.")


class MemberFrozen(PermissionDenied):
    default_message = _("This membership is frozen. Please contact customer service.")


class MemberCodeExpired(DomainError):
    code = "expired"
    status = 400
    default_message = _(
        "This member code has expired or was already used. Ask the member to refresh it."
    )


class MemberCodeNotTheirs(Invalid):
    default_message = _("This member code belongs to another member.")


class WechatSessionExpired(Invalid):
    default_message = _("The WeChat sign-in has expired. Please sign in with WeChat again.")


class WechatAccountTaken(DomainError):
    code = "duplicate"
    status = 409
    default_message = _(
        "This WeChat account already belongs to another member. Sign in as that member, "
        "or ask the brand's staff to merge the two."
    )


class BirthdayAlreadySet(Invalid):
    def __init__(self):
        message = _("Your birthday can be set only once. Customer service can correct it.")
        super().__init__(message, fields={"birthday": [str(message)]})


class BirthdayInFuture(Invalid):
    def __init__(self):
        message = _("A birthday cannot be in the future.")
        super().__init__(message, fields={"birthday": [str(message)]})


class TagOutOfScope(PermissionDenied):
    default_message = _("You can only tag your own store's members with your store's tags.")


class PhoneRevealRefused(PermissionDenied):
    default_message = _("Only the store's owner or HQ may see a member's full phone number.")


class TagNameInvalid(Invalid):
    default_message = _("A tag needs a name of at most 30 characters.")


class MergeRefused(Invalid):
    default_message = _("These two members cannot be merged.")


class MemberNotPresent(PermissionDenied):
    code = "member_not_present"
    default_message = _(
        "Using points needs the member here: scan their member code, or text them a code "
        "and type the one they read out."
    )


class BindingRefused(Invalid):
    code = "binding_refused"
    default_message = _("A member cannot be bound to themselves or to a member they brought.")
