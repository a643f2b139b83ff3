from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MiniprogramConfig(AppConfig):
    name = "apps.miniprogram"
    label = "miniprogram"
    verbose_name = _("Mini-program")

    def ready(self):
        from apps.miniprogram import schema  # noqa: F401  (the Bearer scheme in the OpenAPI schema)
