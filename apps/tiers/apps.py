from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TiersConfig(AppConfig):
    name = "apps.tiers"
    label = "tiers"
    verbose_name = _("Tiers")

    def ready(self):
        from apps.tiers import handlers, segments  # noqa: F401  (they register themselves)
