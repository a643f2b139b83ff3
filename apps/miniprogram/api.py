from django.core import signing
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.fields import PhoneField
from apps.core.api.pagination import PageNumberPagination, page_of
from apps.core.api.schema import errors
from apps.core.api.serializers import represented
from apps.core.api.throttling import ScopedRateThrottle
from apps.core.audit import request_ip
from apps.core.errors import Invalid, NotFound
from apps.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from apps.core.idempotency import idempotent
from apps.core.qr import qr_png
from apps.coupons.api import CouponOutputSerializer
from apps.coupons.errors import CouponNotFound, SoldOut
from apps.coupons.issuing import coupon_claim, coupon_exchange
from apps.coupons.selectors import claimable_templates, member_coupons, template_get
from apps.coupons.sold_out import sold_out_lately
from apps.members.credentials import (
    member_code_issue,
    member_code_member,
    member_token_issue,
    member_token_revoke,
    sms_code_send,
    sms_code_verify,
)
from apps.members.errors import MemberNotFound, WechatSessionExpired
from apps.members.models import Member, MemberIdentity
from apps.members.selectors import guide_by_code, member_by_referral_code
from apps.members.services import (
    member_delete,
    member_find_by_identity,
    member_identity_link,
    member_join_or_find,
    member_profile_update,
    member_store_join,
    member_touch,
    member_wechat_oa_bind,
)
from apps.members.wechat import wechat_provider
from apps.miniprogram.authentication import MemberTokenAuthentication
from apps.miniprogram.personal_data import member_export
from apps.orders.api import QuoteOutputSerializer
from apps.orders.checkout import Checkout, order_place, order_quote
from apps.orders.errors import OrderNotPayable, StoreRequired
from apps.orders.models import Order
from apps.orders.paying import (
    late_payment_refund_noticed,
    order_cancel,
    order_pay,
    order_payment_start,
)
from apps.orders.payments import RefundResult, SandboxPaymentBackend, payment_backend
from apps.orders.selectors import catalogue_lines, member_order, member_orders
from apps.points.selectors import points_history, points_totals, signed_amount
from apps.stores.models import Store
from apps.stores.selectors import store_get_by_code
from apps.tiers.selectors import tier_summary

WECHAT_SESSION_SALT = "huiji.wechat-bind"
WECHAT_SESSION_MAX_AGE = 600


class MemberApi(APIView):
    """Base of the endpoints a signed-in member calls."""

    authentication_classes = [MemberTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @property
    def member(self) -> Member:
        return self.request.user.member


class MemberOutputSerializer(serializers.Serializer):
    """The member of API.md."""

    id = serializers.IntegerField()
    phone_masked = serializers.CharField()
    name = serializers.CharField()
    gender = serializers.CharField()
    birthday = serializers.DateField(allow_null=True)
    referral_code = serializers.CharField()
    marketing_consent = serializers.BooleanField()
    tier = serializers.SerializerMethodField()
    growth = serializers.SerializerMethodField()
    points = serializers.SerializerMethodField()
    home_store = serializers.SerializerMethodField()

    def _tiers(self, member) -> dict:
        cache = self.__dict__.setdefault("_tier_summaries", {})
        if member.pk not in cache:
            cache[member.pk] = tier_summary(member)
        return cache[member.pk]

    def get_tier(self, member) -> dict | None:
        return self._tiers(member)["tier"]

    def get_growth(self, member) -> dict:
        return self._tiers(member)["growth"]

    def get_points(self, member) -> dict:
        totals = points_totals(member)
        expiring = [
            {"amount": e["amount"], "expires_on": e["expires_on"].isoformat()}
            for e in totals["expiring"]
        ]
        return {**totals, "expiring": expiring}

    def get_home_store(self, member) -> dict | None:
        store = member.home_store
        return {"code": store.code, "name": store.name} if store else None


def member_data(member: Member) -> dict:
    return MemberOutputSerializer(member).data


SignedInSerializer = inline_serializer(
    "SignedIn",
    {
        "token": serializers.CharField(),
        "created": serializers.BooleanField(),
        "member": MemberOutputSerializer(),
    },
)
WechatLoginSerializer = inline_serializer(
    "WechatSignedIn",
    {
        "token": serializers.CharField(required=False),
        "created": serializers.BooleanField(required=False),
        "member": MemberOutputSerializer(required=False),
        "bind_required": serializers.BooleanField(required=False),
        "session": serializers.CharField(
            required=False, help_text="Send it with auth/login as wechat_session to bind a phone."
        ),
    },
)


def signed_in(member: Member, created: bool) -> dict:
    member_touch(member=member)
    return {
        "token": member_token_issue(member=member),
        "created": created,
        "member": member_data(member),
    }


class SmsCodeApi(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "sms_ip"

    class InputSerializer(serializers.Serializer):
        phone = PhoneField()

    @extend_schema(
        request=InputSerializer,
        responses=inline_serializer("SmsCodeSent", {"retry_after": serializers.IntegerField()}),
        operation_id="auth_sms_code",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        retry_after = sms_code_send(phone=data.validated_data["phone"], ip=request_ip(request))
        return Response({"retry_after": retry_after})


class LoginApi(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login_ip"

    class InputSerializer(serializers.Serializer):
        phone = PhoneField()
        code = serializers.CharField(max_length=12)
        store_code = serializers.CharField(max_length=16, required=False, allow_blank=True)
        guide_code = serializers.CharField(max_length=12, required=False, allow_blank=True)
        referral_code = serializers.CharField(max_length=12, required=False, allow_blank=True)
        wechat_session = serializers.CharField(required=False, allow_blank=True)

    @extend_schema(
        request=InputSerializer,
        responses={200: SignedInSerializer, **errors(403)},
        operation_id="auth_login",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        wechat_user = _wechat_session_user(values.get("wechat_session"))
        sms_code_verify(phone=values["phone"], code=values["code"], ip=request_ip(request))
        member, created = member_join_or_find(
            phone=values["phone"],
            source="miniprogram",
            store=Store.objects.filter(code=values.get("store_code", "").upper()).first(),
            guide=guide_by_code(values.get("guide_code")),
            referrer=member_by_referral_code(values.get("referral_code")),
        )
        if wechat_user:
            member_identity_link(
                member=member, kind=MemberIdentity.Kind.WECHAT_OPENID, value=wechat_user["openid"]
            )
            if wechat_user.get("unionid"):
                member_identity_link(
                    member=member,
                    kind=MemberIdentity.Kind.WECHAT_UNIONID,
                    value=wechat_user["unionid"],
                )
        return Response(signed_in(member, created))


def _wechat_session_user(session: str | None) -> dict | None:
    if not session:
        return None
    try:
        return signing.loads(session, salt=WECHAT_SESSION_SALT, max_age=WECHAT_SESSION_MAX_AGE)
    except signing.BadSignature as exc:
        raise WechatSessionExpired() from exc


class WechatLoginApi(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login_ip"

    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=128)

    @extend_schema(
        request=InputSerializer, responses=WechatLoginSerializer, operation_id="auth_wechat"
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = wechat_provider().code_to_user(data.validated_data["code"])
        member = member_find_by_identity(kind=MemberIdentity.Kind.WECHAT_OPENID, value=user.openid)
        if member is None and user.unionid:
            member = member_find_by_identity(
                kind=MemberIdentity.Kind.WECHAT_UNIONID, value=user.unionid
            )
        if member is None or member.status != Member.Status.ACTIVE:
            session = signing.dumps(
                {"openid": user.openid, "unionid": user.unionid}, salt=WECHAT_SESSION_SALT
            )
            return Response({"bind_required": True, "session": session})
        member_identity_link(
            member=member, kind=MemberIdentity.Kind.WECHAT_OPENID, value=user.openid
        )
        return Response(signed_in(member, False))


class WechatOaBindApi(MemberApi):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login_ip"

    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=128)

    @extend_schema(
        request=InputSerializer,
        responses={200: MemberOutputSerializer, **errors(409)},
        operation_id="auth_wechat_oa",
    )
    def post(self, request):
        """Bind the signed-in member's openid under the brand's official account, from the
        code of WeChat's web OAuth (snsapi_base) in WeChat's browser: then orders can be paid
        there (`orders/{order_no}/pay` with channel wechat_browser). Again is a no-op; an
        openid bound to another member answers 409."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        openid = wechat_provider().oa_code_to_openid(data.validated_data["code"])
        member_wechat_oa_bind(member=self.member, openid=openid)
        return Response(member_data(self.member))


class LogoutApi(MemberApi):
    @extend_schema(request=None, responses={204: None}, operation_id="auth_logout")
    def post(self, request):
        member_token_revoke(raw=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(MemberApi):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=50, required=False, allow_blank=True)
        gender = serializers.ChoiceField(choices=Member.Gender.choices, required=False)
        birthday = serializers.DateField(required=False)
        marketing_consent = serializers.BooleanField(required=False)

    @extend_schema(responses=MemberOutputSerializer, operation_id="me")
    def get(self, request):
        return Response(member_data(self.member))

    @extend_schema(
        request=InputSerializer, responses=MemberOutputSerializer, operation_id="me_update"
    )
    def patch(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(
            member_data(member_profile_update(member=self.member, **data.validated_data))
        )

    @extend_schema(responses={204: None}, operation_id="me_delete")
    def delete(self, request):
        """Close the account: personal data is erased; this cannot be undone."""
        member_delete(member=self.member)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeExportApi(MemberApi):
    @extend_schema(responses={200: dict}, operation_id="me_export")
    def get(self, request):
        """Everything Huiji keeps about me (PIPL): profile, consent, channel ids, tags, visits,
        referrals, sign-ins, tier and growth, points, coupons, orders with their lines."""
        # Django's encoder: money as exact text ("119.90"), never a float.
        response = JsonResponse(
            member_export(self.member), json_dumps_params={"ensure_ascii": False}
        )
        response["Content-Disposition"] = 'attachment; filename="my-huiji-data.json"'
        return response


class MePointsApi(MemberApi):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        created_at = serializers.DateTimeField()
        amount = serializers.IntegerField(
            help_text="Signed: + earned or returned, − spent or expired."
        )
        kind = serializers.CharField()
        description = serializers.CharField()

    @extend_schema(responses=page_of(OutputSerializer), operation_id="me_points")
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(points_history(self.member), request, view=self)
        rows = [
            {
                "id": e.pk,
                "created_at": e.created_at,
                "amount": signed_amount(e, self.member),
                "kind": e.kind,
                "description": e.description,
            }
            for e in page
        ]
        return paginator.get_paginated_response(self.OutputSerializer(rows, many=True).data)


class MemberCodeApi(MemberApi):
    """A new member code at every call: single use, valid at most 120 s."""

    @extend_schema(
        responses=inline_serializer(
            "MemberCode",
            {"code": serializers.CharField(), "expires_at": serializers.DateTimeField()},
        ),
        operation_id="me_code",
    )
    def get(self, request):
        code, expires_at = member_code_issue(member=self.member)
        return Response(
            {"code": code, "expires_at": serializers.DateTimeField().to_representation(expires_at)}
        )


class MemberCodeImageApi(MemberApi):
    """The member code as a QR image: `?code=` draws the one `me/code` just gave (the same
    code as its digits), only while it is this member's and unspent; without it, a new one."""

    @extend_schema(
        parameters=[OpenApiParameter("code", str, required=False)],
        responses={(200, "image/png"): bytes, **errors(404)},
        operation_id="me_code_png",
    )
    def get(self, request):
        code = request.query_params.get("code", "")
        if code:
            if member_code_member(code).pk != self.member.pk:
                raise MemberNotFound()
        else:
            code, _expires_at = member_code_issue(member=self.member)
        response = HttpResponse(qr_png(code, box_size=8), content_type="image/png")
        response["Cache-Control"] = "no-store"
        return response


class StoreDetailApi(APIView):
    """A store's public card, shown when a member scans its QR code (before or after login)."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        address = serializers.CharField(source="full_address")
        kind = serializers.CharField()

    @extend_schema(responses=OutputSerializer, operation_id="store_detail")
    def get(self, request, code):
        return Response(self.OutputSerializer(store_get_by_code(code)).data)


class StoreJoinApi(MemberApi):
    class InputSerializer(serializers.Serializer):
        guide_code = serializers.CharField(max_length=12, required=False, allow_blank=True)

    @extend_schema(
        request=InputSerializer, responses=MemberOutputSerializer, operation_id="store_join"
    )
    @idempotent
    def post(self, request, code):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        store = store_get_by_code(code)
        member = member_store_join(
            member=self.member,
            store=store,
            guide=guide_by_code(data.validated_data.get("guide_code")),
        )
        return Response(member_data(member))


class MeCouponsApi(MemberApi):
    """The coupon wallet: ?status=available|used|expired (default: all)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=["available", "used", "expired"], required=False)
        ],
        responses=page_of(CouponOutputSerializer),
        operation_id="me_coupons",
    )
    def get(self, request):
        status_wanted = request.query_params.get("status") or None
        if status_wanted not in (None, "available", "used", "expired"):
            raise Invalid(fields={"status": [_("Use available, used or expired.")]})
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(
            member_coupons(self.member, status=status_wanted), request, view=self
        )
        return paginator.get_paginated_response(CouponOutputSerializer(page, many=True).data)


class MeCouponImageApi(MemberApi):
    """The coupon's QR code for the cashier to scan."""

    @extend_schema(responses={(200, "image/png"): bytes}, operation_id="me_coupon_png")
    def get(self, request, code):
        coupon = member_coupons(self.member).filter(code=code.upper()).first()
        if coupon is None:
            raise CouponNotFound()
        return HttpResponse(qr_png(coupon.code, box_size=8), content_type="image/png")


class ClaimableCouponsApi(MemberApi):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField(source="template.pk")
        name = serializers.CharField(source="template.name")
        kind = serializers.CharField(source="template.kind")
        description = serializers.CharField(source="template.description")
        remaining = serializers.IntegerField(allow_null=True, help_text="null: unlimited")
        per_member_limit = serializers.IntegerField(source="template.per_member_limit")
        claimed = serializers.IntegerField()
        points_price = serializers.IntegerField(source="template.points_price", allow_null=True)

    @extend_schema(responses=OutputSerializer(many=True), operation_id="coupons_claimable")
    def get(self, request):
        return Response(self.OutputSerializer(claimable_templates(self.member), many=True).data)


def _refuse_when_sold_out(template_id: int) -> None:
    if sold_out_lately(template_id):
        raise SoldOut()


class CouponClaimApi(MemberApi):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "coupon_claim"

    def initial(self, request, *args, **kwargs):
        # Once a drop has sold out the answer is the same for everyone, so the thousands of
        # taps that follow get it before their token is looked up: they cost the database
        # nothing. A retry with an Idempotency-Key still gets its first answer: a tap with a
        # key is answered so once its key has been looked up (post).
        if not request.headers.get(IDEMPOTENCY_HEADER):
            _refuse_when_sold_out(kwargs["template_id"])
        super().initial(request, *args, **kwargs)

    @extend_schema(
        request=None, responses={201: CouponOutputSerializer}, operation_id="coupon_claim"
    )
    @idempotent
    def post(self, request, template_id):
        if request.headers.get(IDEMPOTENCY_HEADER):
            _refuse_when_sold_out(template_id)
        coupon = coupon_claim(template=template_get(template_id), member=self.member)
        return Response(represented(CouponOutputSerializer, coupon), status=status.HTTP_201_CREATED)


class CouponExchangeApi(MemberApi):
    """Points for a coupon. An Idempotency-Key is required: a retry never spends the points
    twice."""

    @extend_schema(
        request=None, responses={201: CouponOutputSerializer}, operation_id="coupon_exchange"
    )
    @idempotent(required=True)
    def post(self, request, template_id):
        key = request.headers[IDEMPOTENCY_HEADER]
        coupon = coupon_exchange(template=template_get(template_id), member=self.member, key=key)
        return Response(represented(CouponOutputSerializer, coupon), status=status.HTTP_201_CREATED)


class BasketSerializer(serializers.Serializer):
    """What a member buys in the mini-program: products by SKU (the catalogue prices them),
    coupons, points, and the store the order is for (default: their home store)."""

    lines = serializers.ListField(
        child=inline_serializer(
            "BasketLine",
            {
                "sku": serializers.CharField(max_length=64),
                "quantity": serializers.IntegerField(min_value=1, max_value=99),
            },
        ),
        allow_empty=False,
        max_length=50,
    )
    coupon_codes = serializers.ListField(
        child=serializers.CharField(max_length=20), required=False, max_length=10
    )
    points = serializers.IntegerField(min_value=0, required=False, default=0)
    store_code = serializers.CharField(max_length=16, required=False, allow_blank=True)


def _basket_checkout(member: Member, values: dict) -> Checkout:
    code = (values.get("store_code") or "").upper()
    store = store_get_by_code(code) if code else member.home_store
    if store is None:
        raise StoreRequired()
    return Checkout(
        store=store,
        channel="miniprogram",
        member=member,
        lines=catalogue_lines([(item["sku"], item["quantity"]) for item in values["lines"]]),
        coupon_codes=values.get("coupon_codes") or [],
        points=values.get("points") or 0,
    )


class OrderSummarySerializer(serializers.Serializer):
    order_no = serializers.CharField()
    created_at = serializers.DateTimeField()
    status = serializers.CharField()
    store = serializers.CharField(source="store.name")
    payable = serializers.DecimalField(max_digits=12, decimal_places=2)
    points_used = serializers.IntegerField()
    points_earned = serializers.IntegerField()
    expires_at = serializers.DateTimeField(allow_null=True)


class OrderDetailSerializer(OrderSummarySerializer):
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    member_discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    coupon_discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    points_deduction = serializers.DecimalField(max_digits=12, decimal_places=2)
    refunded_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    lines = inline_serializer(
        "MemberOrderLine",
        {
            "sku": serializers.CharField(),
            "name": serializers.CharField(),
            "quantity": serializers.IntegerField(),
            "unit_price": serializers.DecimalField(max_digits=12, decimal_places=2),
            "paid": serializers.DecimalField(max_digits=12, decimal_places=2),
        },
        many=True,
    )


class MemberQuoteApi(MemberApi):
    @extend_schema(
        request=BasketSerializer,
        responses={200: QuoteOutputSerializer, **errors(404)},
        operation_id="quote",
    )
    def post(self, request):
        data = BasketSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        priced = order_quote(_basket_checkout(self.member, data.validated_data))
        return Response(QuoteOutputSerializer(priced.as_dict()).data)


class MemberOrdersApi(MemberApi):
    @extend_schema(responses=page_of(OrderSummarySerializer), operation_id="me_orders")
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(member_orders(self.member), request, view=self)
        return paginator.get_paginated_response(OrderSummarySerializer(page, many=True).data)


class PaymentChannelSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(
        choices=Order.PaymentChannel.choices,
        default=Order.PaymentChannel.MINIPROGRAM,
        help_text="Where the member pays: the order's first payment fixes it.",
    )


def _payment_channel(request) -> str:
    data = PaymentChannelSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data["channel"]


class OrderPlaceSerializer(BasketSerializer, PaymentChannelSerializer):
    pass


class OrderPlaceApi(MemberApi):
    @extend_schema(
        request=OrderPlaceSerializer,
        responses={
            201: inline_serializer(
                "PlacedOrder",
                {"order": OrderDetailSerializer(), "payment": serializers.DictField()},
            ),
            **errors(404, 503),
        },
        operation_id="order_place",
    )
    def post(self, request):
        """Place an order: coupons are held and points taken until it is paid, or given
        back when it is cancelled or ORDER_PAY_MINUTES pass. The order commits first, then
        the gateway is asked for its payment (never inside the transaction that numbers the
        order): if the gateway does not answer, the order stands and the same request again
        (same Idempotency-Key) or `orders/{order_no}/pay` asks again."""
        channel = _payment_channel(request)
        placed = self._place(request)
        if placed.status_code != status.HTTP_201_CREATED:
            return placed
        order = member_order(self.member, placed.data["order"]["order_no"])
        payment = order_payment_start(order=order, channel=channel)
        placed.data = {**placed.data, "payment": payment}
        return placed

    post.idempotent = True  # through _place: the schema documents the header and 409

    @idempotent
    def _place(self, request):
        data = BasketSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = order_place(checkout=_basket_checkout(self.member, data.validated_data))
        return Response(
            {"order": OrderDetailSerializer(member_order(self.member, order.order_no)).data},
            status=status.HTTP_201_CREATED,
        )


class OrderPayApi(MemberApi):
    @extend_schema(
        request=PaymentChannelSerializer,
        responses={
            200: inline_serializer(
                "OrderPayment",
                {"gateway": serializers.CharField(), "params": serializers.DictField()},
            ),
            **errors(400, 404, 409, 503),
        },
        operation_id="order_pay",
    )
    def post(self, request, order_no):
        """What the client pays an unpaid order with (wx.requestPayment's params, or
        WeixinJSBridge's in WeChat's browser): the same prepay each time, asked of the
        gateway once. The first prepay fixes where the order is paid: another channel
        answers 409 `not_payable`."""
        payment = order_payment_start(
            order=member_order(self.member, order_no), channel=_payment_channel(request)
        )
        gateway = payment.pop("backend")
        return Response({"gateway": gateway, "params": payment})


class MemberOrderApi(MemberApi):
    @extend_schema(responses=OrderDetailSerializer, operation_id="me_order")
    def get(self, request, order_no):
        return Response(OrderDetailSerializer(member_order(self.member, order_no)).data)


class MemberOrderCancelApi(MemberApi):
    @extend_schema(request=None, responses=OrderDetailSerializer, operation_id="order_cancel")
    def post(self, request, order_no):
        order_cancel(order=member_order(self.member, order_no))
        return Response(OrderDetailSerializer(member_order(self.member, order_no)).data)


class PaymentNotifyApi(APIView):
    """The payment gateway's notice that a member paid, or of a refund's result, verified by
    the backend from the body and the headers. WeChat Pay's protocol: 200 with code SUCCESS
    when taken, any 4xx or 5xx (here the usual error body, whose code is never SUCCESS) to
    have it sent again.
    A notice that cannot be verified or read is 400, never 500."""

    permission_classes = [AllowAny]
    authentication_classes = []
    # WeChat notifies from a few addresses, which a busy minute would take past the
    # anonymous rate; a notice is verified before anything is read for it.
    throttle_classes = []

    @extend_schema(
        request=None, responses={200: dict, **errors(400, 404)}, operation_id="payment_notify"
    )
    def post(self, request):
        notice = payment_backend().verify(request.body, request.headers)
        if isinstance(notice, RefundResult):
            late_payment_refund_noticed(result=notice)
        elif notice is not None:
            order_pay(notice=notice)
        return Response({"code": "SUCCESS", "message": "OK"})


class SandboxPayApi(MemberApi):
    """Pay an order in the sandbox (the demo's gateway): as if the member paid in WeChat.
    Not found on a site whose payment backend is another one."""

    @extend_schema(
        request=None,
        responses={200: OrderDetailSerializer, **errors(400)},
        operation_id="order_sandbox_pay",
    )
    def post(self, request, order_no):
        backend = payment_backend()
        if not isinstance(backend, SandboxPaymentBackend):
            raise NotFound()
        order = member_order(self.member, order_no)
        if order.status == Order.Status.CANCELLED:
            raise OrderNotPayable()  # as WeChat refuses to pay an order it has closed
        order_pay(notice=backend.verify(backend.notice(order), {}))
        return Response(OrderDetailSerializer(member_order(self.member, order_no)).data)
