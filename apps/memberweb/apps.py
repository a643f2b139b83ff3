from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MemberwebConfig(AppConfig):
    name = "apps.memberweb"
    label = "memberweb"
    verbose_name = _("Member web centre")
