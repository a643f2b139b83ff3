from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = _("System")

    def ready(self):
        from axes.signals import user_locked_out

        from apps.core import checks, lookups  # noqa: F401  (register checks, field__any)
        from apps.core.audit import sign_in_lockout_record

        user_locked_out.connect(sign_in_lockout_record, dispatch_uid="huiji.audit.lockout")
