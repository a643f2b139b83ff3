from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PointsConfig(AppConfig):
    name = "apps.points"
    label = "points"
    verbose_name = _("Points")

    def ready(self):
        from apps.points import handlers  # noqa: F401  (registers the event handlers)
