from django.urls import path

from apps.miniprogram.api import StoreDetailApi

urlpatterns = [
    path("stores/<str:code>", StoreDetailApi.as_view(), name="store-detail"),
]
