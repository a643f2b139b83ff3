import sys

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from drf_spectacular.views import SpectacularSwaggerView

from apps.core.api.exceptions import api_not_found, api_server_error
from apps.core.api.schema_view import SchemaView
from apps.core.health import healthz, readyz
from apps.core.media import media_serve
from apps.core.outages import unavailable, unavailable_response
from apps.memberweb.views import store_qr_link

admin.site.site_header = _("Huiji HQ console")
admin.site.site_title = _("Huiji")
admin.site.index_title = _("HQ console")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("dashboard/", include("apps.dashboards.urls")),
    path("api/v1/", include("apps.miniprogram.urls")),
    path("api/pos/v1/", include("apps.pos.urls")),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("m/", include("apps.memberweb.urls")),
    path("s/<str:code>/", store_qr_link, name="store-landing"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
]
if settings.SERVE_MEDIA:
    urlpatterns.append(
        re_path(rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.+)$", media_serve, name="media")
    )


def handler404(request, exception):
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def handler500(request):
    # Called inside Django's `except`, so the exception being handled is the one to answer.
    if unavailable(sys.exc_info()[1]):
        return unavailable_response(request)
    if request.path.startswith("/api/"):
        return api_server_error(request)
    return defaults.server_error(request)
