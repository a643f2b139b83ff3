from django.utils.translation import gettext_lazy as _

from apps.core.errors import Invalid, NotFound


class MessageNotFound(NotFound):
    default_message = _("You have no message with this id.")


class UnknownWechatTemplate(Invalid):
    default_message = _("No WeChat message is sent with these template ids: %(ids)s.")
