from django.urls import path

from apps.pos.api import PosStoreApi

urlpatterns = [
    path("store", PosStoreApi.as_view(), name="pos-store"),
]
