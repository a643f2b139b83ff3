from django.utils.translation import gettext_lazy as _

from apps.core.errors import Invalid, NotFound, PermissionDenied


class MessageNotFound(NotFound):
    default_message = _("You have no message with this id.")


class UnknownWechatTemplate(Invalid):
    default_message = _("No WeChat message is sent with these template ids: %(ids)s.")


class CampaignTransitionInvalid(Invalid):
    default_message = _("A campaign that is %(current)s cannot become %(wanted)s.")


class CampaignHasNoActions(Invalid):
    default_message = _("Give the campaign at least one action before scheduling it.")


class CareCallNotOpen(Invalid):
    code = "care_call_not_open"
    default_message = _("This call is not on today's list any more.")


class CareOutcomeInvalid(Invalid):
    code = "care_outcome_invalid"
    default_message = _("Choose how the call went.")


class CareNotAtStore(PermissionDenied):
    code = "care_not_at_store"
    default_message = _("Only the store's own people call its members and mark the calls done.")
