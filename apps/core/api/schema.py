"""The OpenAPI schema of both APIs (drf-spectacular), as their clients need it: every
answer a view can give, errors included, in the shape it has."""

import uritemplate
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import build_array_type, force_instance
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.serializers import ListSerializer

from apps.core.api.pagination import PageNumberPagination, PageSerializer
from apps.core.idempotency import HEADER as IDEMPOTENCY_HEADER


class ErrorSerializer(serializers.Serializer):
    """The body of every answer that is not 2xx (API.md, apps/core/api/exceptions.py)."""

    code = serializers.CharField(help_text="A machine code of API.md, e.g. `invalid`.")
    message = serializers.CharField(help_text="What went wrong, in the client's language.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="With `invalid`: the messages of each field that failed validation.",
    )


_ERRORS = {
    400: "The request cannot be done as sent: `invalid` (with `fields` when input failed "
    "validation) or a code of API.md such as `wrong_code` or `expired`.",
    401: "No valid credentials: `not_authenticated`.",
    403: "Not allowed: `permission_denied`, or a code of API.md such as `not_eligible`.",
    404: "Not found: `not_found`.",
    409: "In conflict with what was done before: `idempotency_conflict`, or a code of API.md "
    "such as `sold_out`, `limit_reached`, `already_used`, `duplicate`.",
    429: "Too many requests: `throttled`; `Retry-After` says in how many seconds to try again.",
    503: "A service outside Huiji did not answer: `payment_unavailable`; what was done stays "
    "done, so try again (with the same `Idempotency-Key`).",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Error answers a view declares beyond those the schema finds itself (a domain error a
    service may raise), for `extend_schema(responses={200: X, **errors(409)})`."""
    return {
        status: OpenApiResponse(ErrorSerializer, description=_ERRORS[status]) for status in statuses
    }


class AutoSchema(SpectacularAutoSchema):
    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        """Names a view's own InputSerializer / OutputSerializer after the view (LoginApi →
        "LoginInput"), so that the many small serializers of STYLE.md do not collide."""
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        child = serializer.child if isinstance(serializer, ListSerializer) else serializer
        path = type(child).__qualname__.split(".")
        if len(path) > 1 and not name.startswith(path[-2].removesuffix("Api")):
            name = path[-2].removesuffix("Api") + name
        return name

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            isinstance(field, serializers.ListField | ListSerializer)
            and not field.allow_empty
            and schema.get("type") == "array"
        ):
            schema.setdefault("minItems", 1)  # drf-spectacular leaves allow_empty=False out
        return schema

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._idempotent():
            parameters.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    {"type": "string", "minLength": 1, "maxLength": 255},
                    OpenApiParameter.HEADER,
                    required=self._handler_says("idempotency_required"),
                    description="Replaying a key with the same request answers the first "
                    "answer again and changes nothing; with another request, 409 "
                    "`idempotency_conflict`.",
                )
            )
        return parameters

    def _get_pagination_parameters(self):
        if self._answers_pages():
            return PageNumberPagination().get_schema_operation_parameters(self.view)
        return super()._get_pagination_parameters()

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in self._error_statuses():
            responses.setdefault(
                str(status), self._get_response_for_code(errors(status)[status], str(status))
            )
        if "429" in responses:
            responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        return dict(sorted(responses.items()))

    def _error_statuses(self) -> list[int]:
        """The errors any view of its kind can answer, from what the view is: input can be
        invalid, credentials missing, a path or a page not found, a key replayed with
        another request, a client throttled."""
        view, statuses = self.view, []
        has_body = self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer()
        has_query = any(location == "query" for _n, location in self._process_override_parameters())
        if has_body or has_query or self._idempotent():
            statuses.append(400)
        signed_in = not all(isinstance(p, AllowAny) for p in view.get_permissions())
        if signed_in or view.get_authenticators():
            statuses.append(401)  # with no credentials, or unknown ones
        if signed_in:
            statuses.append(403)
        if uritemplate.variables(self.path) or self._answers_pages():
            statuses.append(404)
        if self._idempotent():
            statuses.append(409)
        if view.get_throttles():
            statuses.append(429)
        return statuses

    def _idempotent(self) -> bool:
        return self._handler_says("idempotent")

    def _handler_says(self, mark: str) -> bool:
        handler = getattr(self.view, self.method.lower(), None)
        return getattr(handler, mark, False)

    def _answers_pages(self) -> bool:
        responses = self.get_response_serializers()
        if isinstance(responses, dict):
            responses = responses.get(200)
        return isinstance(force_instance(responses), PageSerializer)


class PageSerializerExtension(OpenApiSerializerExtension):
    """A `page_of(X)` is documented as drf-spectacular documents a ListAPIView's pages: the
    component `PaginatedXList` of PageNumberPagination's shape."""

    target_class = PageSerializer
    match_subclasses = True

    def get_name(self, auto_schema, direction):
        item_name = auto_schema._get_serializer_name(self.target.item(), direction)
        return auto_schema.get_paginated_name(item_name)

    def map_serializer(self, auto_schema, direction):
        items = auto_schema.resolve_serializer(self.target.item(), direction).ref
        return PageNumberPagination().get_paginated_response_schema(build_array_type(items))
