from django.utils.translation import gettext_lazy as _

from apps.core.errors import DomainError, Invalid


class InsufficientPoints(DomainError):
    code = "insufficient_points"
    status = 409
    default_message = _("Not enough points: %(available)d available, %(wanted)d needed.")


class NotReversible(Invalid):
    default_message = _("This entry cannot be reversed.")


class IdempotencyMismatch(DomainError):
    code = "idempotency_conflict"
    status = 409
    default_message = _("This key was already used for a different points transfer.")


class ApprovalBySelf(DomainError):
    code = "approval_by_requester"
    status = 403
    default_message = _("A second person must approve this: you asked for it yourself.")


class AlreadyDecided(DomainError):
    code = "already_decided"
    status = 409
    default_message = _("This request was already decided: %(status)s.")


class PointsWindowClosed(DomainError):
    code = "points_window_closed"
    status = 409
    default_message = _(
        "%(use)s is open only in the windows HQ set; the next one opens on %(opens_on)s."
    )


class PointsWindowNoneAhead(PointsWindowClosed):
    default_message = _("%(use)s is open only in the windows HQ set, and none is planned yet.")
