from django.urls import path

from apps.pos import api

urlpatterns = [
    path("store", api.PosStoreApi.as_view(), name="pos-store"),
    path("members/identify", api.MemberIdentifyApi.as_view(), name="pos-member-identify"),
    path("coupons/<str:code>/redeem", api.CouponRedeemApi.as_view(), name="pos-coupon-redeem"),
]
