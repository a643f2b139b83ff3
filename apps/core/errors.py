"""Domain errors: what a service raises when a request cannot be done.

Each carries a machine code from API.md and a translatable message. The API turns one
into `{"code", "message", "fields"?}` with its status (apps.core.api.exceptions); the
admin and dashboards show the message. Apps subclass these in their own errors.py.
"""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "invalid"
    status = 400
    default_message = _("The request could not be completed.")

    def __init__(self, message=None, *, fields: dict[str, list] | None = None, **params):
        self.message = message if message is not None else self.default_message
        self.fields = fields
        self.params = params
        super().__init__(self.code)

    def render(self) -> str:
        """The message in the active language, with its parameters filled in."""
        text = str(self.message)
        return text % self.params if self.params else text

    def __str__(self) -> str:
        return self.render()


class Invalid(DomainError):
    code = "invalid"
    status = 400
    default_message = _("Some of the input is not valid.")


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = _("Not found.")


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403
    default_message = _("You do not have permission to do this.")


class Throttled(DomainError):
    code = "throttled"
    status = 429
    default_message = _("Too many requests. Please try again in %(seconds)d seconds.")

    def __init__(self, message=None, *, seconds: int, **params):
        super().__init__(message, seconds=seconds, **params)
        self.retry_after = seconds


class IdempotencyConflict(DomainError):
    code = "idempotency_conflict"
    status = 409
    default_message = _(
        "This Idempotency-Key was already used with a different request. "
        "Use a new key for a new request."
    )
