import threading

from django.utils import translation
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SCHEMA_KWARGS, SpectacularAPIView
from rest_framework.response import Response


class SchemaView(SpectacularAPIView):
    """`/api/schema/`: the schema only changes with the code, so a process generates it once
    per language (the `lang` parameter, else the request's), not on every anonymous request.
    Huiji has no API versions: `?version=` is not read."""

    _schemas: dict[str, dict] = {}
    _lock = threading.Lock()

    @extend_schema(**SCHEMA_KWARGS)  # as SpectacularAPIView's: SERVE_INCLUDE_SCHEMA decides
    def get(self, request, *args, **kwargs):
        language = _supported_language(request.GET.get("lang")) or translation.get_language()
        with self._lock:
            if language not in self._schemas:
                with translation.override(language):
                    self._schemas[language] = self.generator_class().get_schema(
                        request=request, public=self.serve_public
                    )
        filename = self._get_filename(request, version=None)
        return Response(
            self._schemas[language],
            headers={"Content-Disposition": f'inline; filename="{filename}"'},
        )


def _supported_language(code: str | None) -> str | None:
    try:
        return translation.get_supported_language_variant(code) if code else None
    except LookupError:
        return None
