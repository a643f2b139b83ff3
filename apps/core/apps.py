from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = _("System")

    def ready(self):
        from apps.core import checks, lookups  # noqa: F401  (register checks, field__any)
