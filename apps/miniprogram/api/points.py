"""The member's points history."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from apps.core.api.pagination import PageNumberPagination, page_of
from apps.miniprogram.api.base import MemberApi
from apps.points.selectors import points_history, signed_amount


class MePointsApi(MemberApi):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        created_at = serializers.DateTimeField()
        amount = serializers.IntegerField(
            help_text="Signed: + earned or returned, − spent or expired."
        )
        kind = serializers.CharField()
        description = serializers.CharField()

    @extend_schema(responses=page_of(OutputSerializer), operation_id="me_points")
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(points_history(self.member), request, view=self)
        rows = [
            {
                "id": e.pk,
                "created_at": e.created_at,
                "amount": signed_amount(e, self.member),
                "kind": e.kind,
                "description": e.description,
            }
            for e in page
        ]
        return paginator.get_paginated_response(self.OutputSerializer(rows, many=True).data)
