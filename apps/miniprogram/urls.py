from django.urls import path

from apps.miniprogram.api import (
    addresses,
    auth,
    coupons,
    mall,
    me,
    messages,
    orders,
    points,
    referrals,
    store_pay,
    stores,
)

urlpatterns = [
    path("auth/sms-code", auth.SmsCodeApi.as_view(), name="auth-sms-code"),
    path("auth/login", auth.LoginApi.as_view(), name="auth-login"),
    path("auth/wechat", auth.WechatLoginApi.as_view(), name="auth-wechat"),
    path("auth/wechat-oa", auth.WechatOaBindApi.as_view(), name="auth-wechat-oa"),
    path("auth/logout", auth.LogoutApi.as_view(), name="auth-logout"),
    path("me", me.MeApi.as_view(), name="me"),
    path("me/export", me.MeExportApi.as_view(), name="me-export"),
    path("me/addresses", addresses.MeAddressesApi.as_view(), name="me-addresses"),
    path("me/addresses/<int:address_id>", addresses.MeAddressApi.as_view(), name="me-address"),
    path("me/points", points.MePointsApi.as_view(), name="me-points"),
    path("me/code", me.MemberCodeApi.as_view(), name="me-code"),
    path("me/messages", messages.MeMessagesApi.as_view(), name="me-messages"),
    path("me/referrals", referrals.MeReferralsApi.as_view(), name="me-referrals"),
    path(
        "me/messages/<int:message_id>/read",
        messages.MeMessageReadApi.as_view(),
        name="me-message-read",
    ),
    path("me/subscriptions", messages.MeSubscriptionsApi.as_view(), name="me-subscriptions"),
    path("me/code.png", me.MemberCodeImageApi.as_view(), name="me-code-png"),
    path("me/cart", mall.MeCartApi.as_view(), name="me-cart"),
    path("me/coupons", coupons.MeCouponsApi.as_view(), name="me-coupons"),
    path("me/coupons/<str:code>.png", coupons.MeCouponImageApi.as_view(), name="me-coupon-png"),
    path("coupons/claimable", coupons.ClaimableCouponsApi.as_view(), name="coupons-claimable"),
    path("coupons/<int:template_id>/claim", coupons.CouponClaimApi.as_view(), name="coupon-claim"),
    path(
        "coupons/<int:template_id>/exchange",
        coupons.CouponExchangeApi.as_view(),
        name="coupon-exchange",
    ),
    path("orders/quote", orders.MemberQuoteApi.as_view(), name="order-quote"),
    path("orders", orders.OrderPlaceApi.as_view(), name="orders"),
    path("me/orders", orders.MemberOrdersApi.as_view(), name="me-orders"),
    path("orders/<str:order_no>", orders.MemberOrderApi.as_view(), name="order-detail"),
    path(
        "orders/<str:order_no>/cancel", orders.MemberOrderCancelApi.as_view(), name="order-cancel"
    ),
    path(
        "orders/<str:order_no>/refund-requests",
        orders.RefundRequestCreateApi.as_view(),
        name="refund-requests",
    ),
    path(
        "orders/<str:order_no>/refund-requests/<int:request_id>/cancel",
        orders.RefundRequestCancelApi.as_view(),
        name="refund-request-cancel",
    ),
    path("orders/<str:order_no>/pay", orders.OrderPayApi.as_view(), name="order-payment"),
    path(
        "orders/<str:order_no>/receive",
        orders.MemberOrderReceiveApi.as_view(),
        name="order-receive",
    ),
    path(
        "me/orders/<str:order_no>/pickup.png",
        orders.MePickupImageApi.as_view(),
        name="me-order-pickup-png",
    ),
    path("orders/<str:order_no>/sandbox-pay", orders.SandboxPayApi.as_view(), name="order-pay"),
    path("payments/notify", orders.PaymentNotifyApi.as_view(), name="payment-notify"),
    path("stores/<str:code>", stores.StoreDetailApi.as_view(), name="store-detail"),
    path("stores/<str:code>/mall", mall.StoreMallApi.as_view(), name="store-mall"),
    path("products", mall.ProductsApi.as_view(), name="products"),
    path("products/<int:product_id>", mall.ProductApi.as_view(), name="product-detail"),
    path("stores/<str:code>/join", stores.StoreJoinApi.as_view(), name="store-join"),
    path("stores/<str:code>/pay", store_pay.StorePayApi.as_view(), name="store-pay"),
    path(
        "stores/<str:code>/pay/quote", store_pay.StorePayQuoteApi.as_view(), name="store-pay-quote"
    ),
]
