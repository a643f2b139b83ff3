from django.urls import path

from apps.miniprogram import api

urlpatterns = [
    path("auth/sms-code", api.SmsCodeApi.as_view(), name="auth-sms-code"),
    path("auth/login", api.LoginApi.as_view(), name="auth-login"),
    path("auth/wechat", api.WechatLoginApi.as_view(), name="auth-wechat"),
    path("auth/wechat-oa", api.WechatOaBindApi.as_view(), name="auth-wechat-oa"),
    path("auth/logout", api.LogoutApi.as_view(), name="auth-logout"),
    path("me", api.MeApi.as_view(), name="me"),
    path("me/export", api.MeExportApi.as_view(), name="me-export"),
    path("me/points", api.MePointsApi.as_view(), name="me-points"),
    path("me/code", api.MemberCodeApi.as_view(), name="me-code"),
    path("me/code.png", api.MemberCodeImageApi.as_view(), name="me-code-png"),
    path("me/coupons", api.MeCouponsApi.as_view(), name="me-coupons"),
    path("me/coupons/<str:code>.png", api.MeCouponImageApi.as_view(), name="me-coupon-png"),
    path("coupons/claimable", api.ClaimableCouponsApi.as_view(), name="coupons-claimable"),
    path("coupons/<int:template_id>/claim", api.CouponClaimApi.as_view(), name="coupon-claim"),
    path(
        "coupons/<int:template_id>/exchange",
        api.CouponExchangeApi.as_view(),
        name="coupon-exchange",
    ),
    path("orders/quote", api.MemberQuoteApi.as_view(), name="order-quote"),
    path("orders", api.OrderPlaceApi.as_view(), name="orders"),
    path("me/orders", api.MemberOrdersApi.as_view(), name="me-orders"),
    path("orders/<str:order_no>", api.MemberOrderApi.as_view(), name="order-detail"),
    path("orders/<str:order_no>/cancel", api.MemberOrderCancelApi.as_view(), name="order-cancel"),
    path("orders/<str:order_no>/pay", api.OrderPayApi.as_view(), name="order-payment"),
    path("orders/<str:order_no>/sandbox-pay", api.SandboxPayApi.as_view(), name="order-pay"),
    path("payments/notify", api.PaymentNotifyApi.as_view(), name="payment-notify"),
    path("stores/<str:code>", api.StoreDetailApi.as_view(), name="store-detail"),
    path("stores/<str:code>/join", api.StoreJoinApi.as_view(), name="store-join"),
]
