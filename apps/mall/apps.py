from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MallConfig(AppConfig):
    name = "apps.mall"
    label = "mall"
    verbose_name = _("Products")
