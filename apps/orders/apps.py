from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "apps.orders"
    label = "orders"
    verbose_name = _("Orders")

    def ready(self):
        from apps.orders import (  # noqa: F401  (register event handlers and segment filters)
            handlers,
            segments,
        )
