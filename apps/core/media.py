"""Uploaded files at MEDIA_URL, served by Huiji itself (the embedded default, and a site
whose proxy does not serve MEDIA_ROOT; README.md, "Media"). Their names are content hashes
(apps.mall.images), so a browser or CDN may keep each one for a year without asking again.
WhiteNoise serves only what collectstatic gathered, never uploads."""

from django.conf import settings
from django.views.decorators.http import require_safe
from django.views.static import serve

IMMUTABLE = "public, max-age=31536000, immutable"


@require_safe
def media_serve(request, path: str):
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    response["Cache-Control"] = IMMUTABLE
    return response
