from django.utils.translation import gettext_lazy as _

from apps.core.errors import Invalid, NotFound


class MessageNotFound(NotFound):
    default_message = _("You have no message with this id.")


class UnknownWechatTemplate(Invalid):
    default_message = _("No WeChat message is sent with these template ids: %(ids)s.")


class CampaignTransitionInvalid(Invalid):
    default_message = _("A campaign that is %(current)s cannot become %(wanted)s.")


class CampaignHasNoActions(Invalid):
    default_message = _("Give the campaign at least one action before scheduling it.")
