from django.urls import path

from apps.pos import api

urlpatterns = [
    path("store", api.PosStoreApi.as_view(), name="pos-store"),
    path("members/identify", api.MemberIdentifyApi.as_view(), name="pos-member-identify"),
    path("members/otp", api.MemberOtpApi.as_view(), name="pos-member-otp"),
    path("coupons/<str:code>/redeem", api.CouponRedeemApi.as_view(), name="pos-coupon-redeem"),
    path("orders/quote", api.OrderQuoteApi.as_view(), name="pos-order-quote"),
    path("orders", api.OrderCreateApi.as_view(), name="pos-orders"),
    path(
        "orders/<str:external_id>/refunds", api.OrderRefundApi.as_view(), name="pos-order-refunds"
    ),
    path(
        "pickups/<str:pickup_code>/complete",
        api.PickupCompleteApi.as_view(),
        name="pos-pickup-complete",
    ),
]
