"""One shape for every API error (API.md): {"code", "message", "fields"?}."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.errors import DomainError

_CODES = {
    exceptions.ValidationError: "invalid",
    exceptions.ParseError: "invalid",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return body


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        response = Response(error_body(exc.code, exc.render(), exc.fields), status=exc.status)
        if getattr(exc, "retry_after", None):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), exc.default_code)
    if isinstance(exc, exceptions.ValidationError):
        message, fields = _validation_message(exc.detail)
    else:
        message, fields = str(exc.detail), None
    response.data = error_body(code, message, fields)
    return response


def _validation_message(detail) -> tuple[str, dict | None]:
    if isinstance(detail, dict):
        fields = {name: _flatten(messages) for name, messages in detail.items()}
        general = fields.pop("non_field_errors", None)
        message = general[0] if general else _("Some of the input is not valid.")
        return message, fields or None
    messages = _flatten(detail)
    return (messages[0] if messages else _("Some of the input is not valid.")), None


def _flatten(detail, path: str = "") -> list[str]:
    """Nested errors (a list of lines, each with fields) become '[1].quantity: …' lines."""
    if isinstance(detail, dict):
        return [line for key, value in detail.items() for line in _flatten(value, _join(path, key))]
    if isinstance(detail, list):
        if any(isinstance(item, dict | list) for item in detail):
            return [
                line
                for index, item in enumerate(detail)
                for line in _flatten(item, _join(path, index))
            ]
        return [line for item in detail for line in _flatten(item, path)]
    return [f"{path}: {detail}" if path else str(detail)]


def _join(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def api_not_found(request, exception=None):
    return JsonResponse(error_body("not_found", _("Not found.")), status=404)


def api_server_error(request):
    return JsonResponse(
        error_body("server_error", _("Something went wrong on our side. Please try again.")),
        status=500,
    )
