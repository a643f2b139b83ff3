from django.conf import settings
from django.urls import path

from apps.memberweb import views
from apps.orders.models import RefundRequest

urlpatterns = [
    path("", views.page("card"), name="m-card"),
    path("login", views.page("login", signed_in=False), name="m-login"),
    path("coupons", views.page("coupons"), name="m-coupons"),
    path("coupons/claim", views.page("claim"), name="m-claim"),
    path("points", views.page("points"), name="m-points"),
    path("orders", views.page("orders"), name="m-orders"),
    path(
        "orders/<str:order_no>",
        views.page("order", extra={"refund_reasons": RefundRequest.Reason.choices}),
        name="m-order",
    ),
    path("me", views.page("me"), name="m-me"),
    path("inbox", views.page("inbox"), name="m-inbox"),
    path(
        "promoter",
        views.page("promoter", extra={"confirm_page": settings.MINIPROGRAM_WITHDRAWALS_PAGE}),
        name="m-promoter",
    ),
    path("s/<str:code>/", views.page("landing", signed_in=False, tabs=True), name="m-store"),
    path("s/<str:code>/pay", views.page("store_pay"), name="m-store-pay"),
    path("mall", views.page("mall"), name="m-mall"),
    path(
        "products/<int:product_id>",
        views.page("product", signed_in=False, tabs=True),
        name="m-product",
    ),
    path("cart", views.page("cart"), name="m-cart"),
    path("checkout", views.page("checkout"), name="m-checkout"),
]
