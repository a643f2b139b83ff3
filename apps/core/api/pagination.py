import functools

from rest_framework import pagination, serializers


class PageNumberPagination(pagination.PageNumberPagination):
    """`{"count", "next", "previous", "results"}` (API.md); `?page=` and `?page_size=` ≤ 100."""

    page_size_query_param = "page_size"
    max_page_size = 100


class PageSerializer(serializers.Serializer):
    """The schema of a page of `item`s, for a view that paginates by hand (an APIView, which
    drf-spectacular cannot see paginate): `extend_schema(responses=page_of(X))`. The
    OpenAPI schema documents it, and the page parameters, as it does a ListAPIView's
    (apps/core/api/schema.py); answers are still made by PageNumberPagination."""

    item: type[serializers.Serializer]


@functools.cache
def page_of(item: type[serializers.Serializer]) -> type[PageSerializer]:
    return type(f"{item.__name__}Page", (PageSerializer,), {"item": item})
