from django.urls import path

from apps.dashboards import after_sale, care, counter, distribution, online_orders, shelf, views

app_name = "dashboards"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("stores/", views.stores, name="stores"),
    path("distribution/", distribution.distribution, name="distribution"),
    path("stores/<str:code>/", views.overview, name="overview"),
    path("care/", care.care_stores, name="care-stores"),
    path("stores/<str:code>/care/", care.care, name="care"),
    path("stores/<str:code>/care/<int:call_id>/call/", care.care_call, name="care-call"),
    path("stores/<str:code>/care/<int:call_id>/done/", care.care_done, name="care-done"),
    path("stores/<str:code>/members/", views.members, name="members"),
    path("stores/<str:code>/members/<int:member_id>/", views.member, name="member"),
    path(
        "stores/<str:code>/members/<int:member_id>/phone/",
        views.member_phone,
        name="member-phone",
    ),
    path("stores/<str:code>/members/<int:member_id>/gift/", views.member_gift, name="member-gift"),
    path("stores/<str:code>/members/<int:member_id>/tag/", views.member_tag, name="member-tag"),
    path("stores/<str:code>/counter/", counter.counter, name="counter"),
    path("stores/<str:code>/counter/identify/", counter.counter_identify, name="identify"),
    path("stores/<str:code>/counter/forget/", counter.counter_forget, name="forget"),
    path("stores/<str:code>/counter/otp/", counter.counter_otp, name="counter-otp"),
    path("stores/<str:code>/counter/redeem/", counter.counter_redeem, name="redeem"),
    path("stores/<str:code>/counter/sale/", counter.counter_sale, name="sale"),
    path("stores/<str:code>/counter/pickup/", counter.counter_pickup, name="pickup"),
    path("stores/<str:code>/online-orders/", online_orders.online_orders, name="online-orders"),
    path(
        "stores/<str:code>/online-orders/<str:order_no>/ship/",
        online_orders.online_order_ship,
        name="online-order-ship",
    ),
    path(
        "stores/<str:code>/refund-requests/",
        after_sale.refund_requests,
        name="refund-requests",
    ),
    path(
        "stores/<str:code>/refund-requests/<int:request_id>/decide/",
        after_sale.refund_request_decide,
        name="refund-request-decide",
    ),
    path("stores/<str:code>/guides/", views.guides, name="guides"),
    path("stores/<str:code>/promoters/", distribution.promoters, name="promoters"),
    path(
        "stores/<str:code>/promoters/<int:promoter_id>/decide/",
        distribution.promoter_application_decide,
        name="promoter-decide",
    ),
    path("stores/<str:code>/guides/<str:guide_code>.png", views.guide_poster, name="guide-poster"),
    path(
        "stores/<str:code>/guides/<str:guide_code>/pay.png",
        views.guide_poster,
        {"pay": True},
        name="guide-pay-poster",
    ),
    path("stores/<str:code>/mall/", shelf.shelf, name="shelf"),
    path("stores/<str:code>/mall/<int:product_id>/", shelf.shelf_change, name="shelf-change"),
    path("stores/<str:code>/poster.png", views.poster, name="poster"),
    path("stores/<str:code>/pay-poster.png", views.poster, {"pay": True}, name="pay-poster"),
]
