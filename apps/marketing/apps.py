from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketingConfig(AppConfig):
    name = "apps.marketing"
    label = "marketing"
    verbose_name = _("Marketing")

    def ready(self):
        from apps.marketing import handlers  # noqa: F401  (registers the event handlers)
