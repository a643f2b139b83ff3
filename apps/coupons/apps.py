from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CouponsConfig(AppConfig):
    name = "apps.coupons"
    label = "coupons"
    verbose_name = _("Coupons")

    def ready(self):
        from apps.coupons import handlers  # noqa: F401  (registers the event handlers)
