"""Each request is answered in the language its client asks for (apps.core.middleware)."""

import pytest
from django.conf.urls.i18n import i18n_patterns
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import override_settings
from django.urls import path

from apps.core.middleware import LocaleMiddleware

pytestmark = pytest.mark.django_db

urlpatterns = i18n_patterns(path("page", lambda request: HttpResponse()))  # for the last test


@pytest.mark.parametrize(
    ("headers", "language", "message"),
    [
        ({}, "zh-hans", "门店 S404 不存在。"),
        ({"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}, "en", "There is no store with code S404."),
        ({"HTTP_ACCEPT_LANGUAGE": "fr, zh-CN;q=0.8"}, "zh-hans", "门店 S404 不存在。"),
        ({"HTTP_ACCEPT_LANGUAGE": "de"}, "zh-hans", "门店 S404 不存在。"),
    ],
)
def test_the_answer_is_in_the_language_asked_for_and_says_so(
    api_client, headers, language, message
):
    response = api_client.get("/api/v1/stores/S404", **headers)

    assert response.json()["message"] == message
    assert response["Content-Language"] == language
    assert "Accept-Language" in response["Vary"]


def test_the_language_cookie_comes_before_the_header(api_client):
    api_client.cookies["django_language"] = "en"

    response = api_client.get("/api/v1/stores/S404", HTTP_ACCEPT_LANGUAGE="zh-CN")

    assert response["Content-Language"] == "en"


def test_urls_with_a_language_prefix_are_refused_at_start_up():
    with override_settings(ROOT_URLCONF=__name__), pytest.raises(ImproperlyConfigured):
        LocaleMiddleware(lambda request: HttpResponse())
