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
