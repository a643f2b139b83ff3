from django.conf import settings
from django.shortcuts import render

from apps.core.errors import NotFound
from apps.stores.selectors import store_get_by_code


def store_landing(request, code):
    """Where a store's QR poster points. WeChat opens the mini-program for this address
    (普通链接二维码); any other camera lands here and is told how to join."""
    try:
        store = store_get_by_code(code)
    except NotFound:
        return render(request, "miniprogram/store_landing.html", {"store": None}, status=404)
    context = {"store": store, "brand_name": settings.BRAND_NAME}
    return render(request, "miniprogram/store_landing.html", context)
