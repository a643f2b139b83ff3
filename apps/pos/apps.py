from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PosConfig(AppConfig):
    name = "apps.pos"
    label = "pos"
    verbose_name = _("POS API")

    def ready(self):
        from apps.pos import schema  # noqa: F401  (registers the Api-Key scheme with the OpenAPI schema)
