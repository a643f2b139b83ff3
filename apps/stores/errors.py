from django.utils.translation import gettext_lazy as _

from apps.core.errors import NotFound


class StoreNotFound(NotFound):
    default_message = _("There is no store with code %(code)s.")
