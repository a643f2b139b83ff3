from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework.serializers import ListSerializer


class AutoSchema(SpectacularAutoSchema):
    """Names a view's own InputSerializer / OutputSerializer after the view (LoginApi →
    "LoginInput"), so that the many small serializers of STYLE.md do not collide."""

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        child = serializer.child if isinstance(serializer, ListSerializer) else serializer
        path = type(child).__qualname__.split(".")
        if len(path) > 1 and not name.startswith(path[-2].removesuffix("Api")):
            name = path[-2].removesuffix("Api") + name
        return name
