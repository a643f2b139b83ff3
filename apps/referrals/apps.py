from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferralsConfig(AppConfig):
    name = "apps.referrals"
    label = "referrals"
    verbose_name = _("Distribution")

    def ready(self):
        from apps.referrals import handlers  # noqa: F401  (registers the event handlers)
