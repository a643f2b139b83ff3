"""WeChat Pay (微信支付) API v3: JSAPI orders, their notices, order queries and refunds.
PAYMENT_BACKEND = "apps.orders.wechatpay.WechatPayBackend", with the WECHATPAY_* settings
(README). A member pays as a WeChat user: in the mini-program, as the one they signed in as
(their openid under WECHATPAY_APP_ID); in WeChat's in-app browser (the order's payment
channel wechat_browser), with the same JSAPI params (WeixinJSBridge getBrandWCPayRequest)
under the official account's app id WECHAT_OA_APP_ID and their openid there, which they
bind through the account's web OAuth (auth/wechat-oa).

Requests to WeChat go through the wechatpayv3 library, which signs them with the merchant's
private key and checks the signature of every answer with WeChat's platform key. Notices are
checked here, by the documented protocol, not by the library: it does not bound a notice's
age, and a notice naming an unknown key serial makes it download WeChat's certificates,
so anyone posting junk would make the site call WeChat. A notice is accepted only when it
names our platform key, is at most NOTICE_MAX_AGE seconds old, its signature over
"timestamp\\nnonce\\nbody\\n" verifies, its resource decrypts with the APIv3 key
(AEAD_AES_256_GCM) and it is about our merchant id (and app id, for a payment). The
order's amount is checked against the notice by apps.orders.paying.order_pay; a refund's
result (REFUND.SUCCESS, .ABNORMAL, .CLOSED) is checked the same way and recorded by
apps.orders.paying.late_payment_refund_noticed. A 商家转账 bill's end (MCHTRANSFER.BILL.FINISHED:
a withdrawal paid out, failed or cancelled) is checked the same way too; the notify endpoint
hands it to the payouts that asked for it (apps.referrals).
"""

import binascii
import json
import logging
import secrets
import time
from base64 import b64decode
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from wechatpayv3 import WeChatPay, WeChatPayType

from apps.members.models import MemberIdentity
from apps.members.wechat import oa_configuration_problems
from apps.orders.errors import (
    PaymentGatewayError,
    PaymentRejected,
    WechatBrowserPayerUnknown,
    WechatPayerUnknown,
)
from apps.orders.models import Order
from apps.orders.payments import (
    REFUND_ABNORMAL,
    REFUND_CLOSED,
    REFUND_PROCESSING,
    REFUND_SUCCESS,
    PaymentBackend,
    PaymentNotice,
    RefundResult,
    TransferNotice,
)

logger = logging.getLogger(__name__)

NOTICE_MAX_AGE = 300  # seconds a notice's timestamp may be from now, either way
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
PAID_EVENT = "TRANSACTION.SUCCESS"
REFUND_EVENTS = {"REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"}
# WeChat's refund states, as the backend interface names them
REFUND_STATES = {
    "SUCCESS": REFUND_SUCCESS,
    "PROCESSING": REFUND_PROCESSING,
    "ABNORMAL": REFUND_ABNORMAL,
    "CLOSED": REFUND_CLOSED,
}
TRANSFER_EVENT = "MCHTRANSFER.BILL.FINISHED"
# WeChat's transfer bill states (商家转账): settled; failed for good (CANCELLED too: a bill
# the member did not confirm within 24 hours); waiting for the member to confirm receipt;
# the rest are processing (ACCEPTED, PROCESSING, TRANSFERING, CANCELING).
TRANSFER_PAID = "SUCCESS"
TRANSFER_FAILED = {"FAIL", "CANCELLED"}
TRANSFER_AWAITS_MEMBER = "WAIT_USER_CONFIRM"
REQUIRED_SETTINGS = (
    "WECHATPAY_MCH_ID",
    "WECHATPAY_APP_ID",
    "WECHATPAY_APIV3_KEY",
    "WECHATPAY_CERT_SERIAL_NO",
    "WECHATPAY_PRIVATE_KEY_PATH",
    "WECHATPAY_PLATFORM_KEY_PATH",
    "WECHATPAY_PLATFORM_KEY_ID",
    "WECHATPAY_NOTIFY_URL",
)


class WechatPayBackend(PaymentBackend):
    name = "wechatpay"
    timeout = None  # (seconds to connect, to read an answer); None: WECHATPAY_TIMEOUT_SECONDS

    def __init__(self):
        if problems := self.configuration_problems():
            raise ImproperlyConfigured("; ".join(problems))
        self._apiv3_key = settings.WECHATPAY_APIV3_KEY.encode()
        self._platform_key = platform_public_key(settings.WECHATPAY_PLATFORM_KEY_PATH)
        self._client = wechatpay_client(self._platform_key, self.timeout)

    @classmethod
    def configuration_problems(cls) -> list[str]:
        missing = [name for name in REQUIRED_SETTINGS if not getattr(settings, name, "")]
        if missing:
            return [f"WeChat Pay needs {', '.join(missing)}."]
        problems = oa_configuration_problems()
        if not settings.WECHATPAY_NOTIFY_URL.startswith("https://"):
            problems.append("WECHATPAY_NOTIFY_URL must be an https:// address (SITE_URL's).")
        if len(settings.WECHATPAY_APIV3_KEY.encode()) != 32:
            problems.append("WECHATPAY_APIV3_KEY must be the 32-character APIv3 key.")
        try:
            serialization.load_pem_private_key(
                Path(settings.WECHATPAY_PRIVATE_KEY_PATH).read_bytes(), password=None
            )
        except (OSError, ValueError, TypeError) as exc:
            problems.append(
                "WECHATPAY_PRIVATE_KEY_PATH: not a readable PEM private key "
                f"({type(exc).__name__})."
            )
        try:
            platform_public_key(settings.WECHATPAY_PLATFORM_KEY_PATH)
        except (OSError, ValueError) as exc:
            problems.append(
                "WECHATPAY_PLATFORM_KEY_PATH: not a readable PEM public key or certificate "
                f"({type(exc).__name__})."
            )
        return problems

    def prepay(self, order) -> str:
        """A JSAPI order at WeChat Pay; its prepay id. WeChat closes it by itself when the
        order's time to pay runs out. The same order again (same out_trade_no, same params)
        is answered the same prepay id. The order's payment channel says as whom."""
        appid, payer = _payer(order)
        status, answer = wechatpay_request(
            self._client.pay,
            appid=appid,
            description=f"{settings.BRAND_NAME} {order.order_no}"[:127],
            out_trade_no=order.order_no,
            amount={"total": _fen(order.payable), "currency": "CNY"},
            payer={"openid": payer},
            time_expire=(
                timezone.localtime(order.expires_at).isoformat(timespec="seconds")
                if order.expires_at
                else None
            ),
        )
        if status != 200 or not answer.get("prepay_id"):
            raise _refused("pay", status, answer)
        return str(answer["prepay_id"])

    def params(self, order, prepay_id: str) -> dict:
        """The signed params of wx.requestPayment (or the in-app browser's WeixinJSBridge
        getBrandWCPayRequest) for the prepay."""
        params = {
            "appId": _app_id(order.payment_channel),
            "timeStamp": str(int(time.time())),
            "nonceStr": secrets.token_hex(16),
            "package": f"prepay_id={prepay_id}",
        }
        signature = self._client.sign(list(params.values()))
        return {**params, "signType": "RSA", "paySign": signature}

    def verify(
        self, body: bytes, headers: Mapping[str, str]
    ) -> PaymentNotice | RefundResult | TransferNotice | None:
        """A payment's notice (TRANSACTION.SUCCESS), a refund's (REFUND.SUCCESS, .ABNORMAL,
        .CLOSED) or a transfer's (MCHTRANSFER.BILL.FINISHED), each signed by WeChat and its
        resource encrypted with the APIv3 key."""
        headers = {name.lower(): value for name, value in headers.items()}
        self._check_signature(body, headers)
        try:
            envelope = json.loads(body)
            event = envelope.get("event_type")
            if event not in (PAID_EVENT, TRANSFER_EVENT) and event not in REFUND_EVENTS:
                return None  # another kind of notice: nothing to do, acknowledged
            resource = envelope["resource"]
            if resource.get("algorithm") != "AEAD_AES_256_GCM":
                raise PaymentRejected()
            plain = AESGCM(self._apiv3_key).decrypt(
                str(resource["nonce"]).encode(),
                b64decode(str(resource["ciphertext"]), validate=True),
                str(resource.get("associated_data") or "").encode(),
            )
        except (ValueError, KeyError, TypeError, AttributeError, InvalidTag) as exc:
            raise PaymentRejected() from exc
        if event == PAID_EVENT:
            return _notice(plain)
        if event == TRANSFER_EVENT:
            return _transfer_noticed(plain)
        return _refund_noticed(plain)

    def _check_signature(self, body: bytes, headers: dict[str, str]) -> None:
        timestamp = headers.get("wechatpay-timestamp", "")
        nonce = headers.get("wechatpay-nonce", "")
        if (
            headers.get("wechatpay-serial") != settings.WECHATPAY_PLATFORM_KEY_ID
            or headers.get("wechatpay-signature-type", SIGNATURE_TYPE) != SIGNATURE_TYPE
            # a bound before int(): 400 digits overflow a float, 5,000 are refused by int()
            or not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12)
            or abs(time.time() - int(timestamp)) > NOTICE_MAX_AGE
            or not nonce
        ):
            raise PaymentRejected()
        try:
            self._platform_key.verify(
                b64decode(headers.get("wechatpay-signature", ""), validate=True),
                f"{timestamp}\n{nonce}\n".encode() + body + b"\n",
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, binascii.Error, ValueError) as exc:
            raise PaymentRejected() from exc

    def query(self, order) -> PaymentNotice | None:
        status, answer = wechatpay_request(self._client.query, out_trade_no=order.order_no)
        if status == 404:  # ORDER_NOT_EXIST: the member never started paying
            return None
        if status != 200:
            raise _refused("query", status, answer)
        if answer.get("trade_state") != "SUCCESS":
            return None
        return _notice(answer)

    def refund(self, *, transaction_id, refund_no, amount, total, reason) -> RefundResult:
        status, answer = wechatpay_request(
            self._client.refund,
            out_refund_no=refund_no,
            amount={"refund": _fen(amount), "total": _fen(total), "currency": "CNY"},
            transaction_id=transaction_id,
            reason=reason[:80],
        )
        if status != 200:
            raise _refused("refund", status, answer)
        return _refund_answered("refund", refund_no, status, answer)

    def refund_query(self, refund_no: str) -> RefundResult | None:
        status, answer = wechatpay_request(self._client.query_refund, out_refund_no=refund_no)
        if status == 404:  # RESOURCE_NOT_EXISTS: the refund never reached WeChat
            return None
        if status != 200:
            raise _refused("query_refund", status, answer)
        return _refund_answered("query_refund", refund_no, status, answer)


def wechatpay_client(platform_key, timeout) -> WeChatPay:
    """The wechatpayv3 client of our merchant, at WECHATPAY_API_BASE."""
    client = WeChatPay(
        wechatpay_type=WeChatPayType.JSAPI,
        mchid=settings.WECHATPAY_MCH_ID,
        private_key=Path(settings.WECHATPAY_PRIVATE_KEY_PATH).read_text(),
        cert_serial_no=settings.WECHATPAY_CERT_SERIAL_NO,
        appid=settings.WECHATPAY_APP_ID,
        apiv3_key=settings.WECHATPAY_APIV3_KEY,
        notify_url=settings.WECHATPAY_NOTIFY_URL,
        timeout=timeout or (settings.WECHATPAY_TIMEOUT_SECONDS,) * 2,
        # The platform key checks WeChat's answers; given, the library never downloads
        # platform certificates.
        public_key=platform_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
        public_key_id=settings.WECHATPAY_PLATFORM_KEY_ID,
    )
    # The library has no setting for WeChat's address; WECHATPAY_API_BASE changes it
    # (the tests' local fake of WeChat Pay).
    client._core._gate_way = settings.WECHATPAY_API_BASE.rstrip("/")
    return client


def wechatpay_request(call, **params) -> tuple[int, dict]:
    """WeChat Pay's HTTP status and JSON answer to `call`; PaymentGatewayError when WeChat
    could not be heard."""
    try:
        status, text = call(**params)
        answer = json.loads(text) if text else {}
        if not isinstance(answer, dict):
            raise ValueError("not a JSON object")
        return status, answer
    # requests' errors, the bare Exception the library raises when an answer's signature
    # does not verify, an answer that is not JSON: WeChat could not be heard.
    except Exception as exc:
        logger.warning("WeChat Pay %s failed: %s", call.__name__, type(exc).__name__)
        raise PaymentGatewayError(type(exc).__name__) from exc


def _notice(transaction: bytes | dict) -> PaymentNotice:
    """The payment a decrypted notice or a query's answer reports, if it is ours; else
    PaymentRejected."""
    try:
        fields = json.loads(transaction) if isinstance(transaction, bytes) else transaction
        amount = fields["amount"]
        if (
            fields.get("mchid") != settings.WECHATPAY_MCH_ID
            or fields.get("appid") not in _our_app_ids()
            or fields.get("trade_state") != "SUCCESS"
            or amount.get("currency", "CNY") != "CNY"
            or type(amount["total"]) is not int
            or not fields["transaction_id"]
        ):
            raise PaymentRejected()
        return PaymentNotice(
            order_no=str(fields["out_trade_no"]),
            amount=Decimal(amount["total"]) / 100,
            transaction_id=str(fields["transaction_id"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PaymentRejected() from exc


def _refund_noticed(plain: bytes) -> RefundResult:
    """The refund a decrypted REFUND.* notice reports, if it is ours; else PaymentRejected."""
    try:
        fields = json.loads(plain)
        if fields.get("mchid") != settings.WECHATPAY_MCH_ID:
            raise PaymentRejected()
        return _refund_result(fields, status_field="refund_status")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PaymentRejected() from exc


def _transfer_noticed(plain: bytes) -> TransferNotice | None:
    """The transfer a decrypted MCHTRANSFER.BILL.FINISHED notice reports, if it is ours;
    None for a bill that has not ended (WeChat notices only the end); else PaymentRejected."""
    try:
        fields = json.loads(plain)
        state, fen = fields.get("state"), fields["transfer_amount"]
        if (
            fields.get("mchid") != settings.WECHATPAY_MCH_ID
            or type(fen) is not int
            or not fields["out_bill_no"]
            or not fields["transfer_bill_no"]
        ):
            raise PaymentRejected()
        if state != TRANSFER_PAID and state not in TRANSFER_FAILED:
            return None
        return TransferNotice(
            bill_no=str(fields["out_bill_no"]),
            paid=state == TRANSFER_PAID,
            amount=Decimal(fen) / 100,
            transfer_id=str(fields["transfer_bill_no"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PaymentRejected() from exc


def _refund_answered(call: str, refund_no: str, status: int, answer: dict) -> RefundResult:
    """The refund WeChat's answer to a refund or its query describes (its `status`)."""
    try:
        result = _refund_result(answer, status_field="status")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _refused(call, status, answer) from exc
    if result.refund_no != refund_no:
        raise _refused(call, status, answer)
    return result


def _refund_result(fields: dict, *, status_field: str) -> RefundResult:
    """A refund as WeChat describes it, in a notice (refund_status) or an answer (status)."""
    state = REFUND_STATES[fields[status_field]]
    refund = fields["amount"]["refund"]
    if type(refund) is not int or not fields["out_refund_no"] or not fields["refund_id"]:
        raise ValueError("not a refund")
    return RefundResult(
        refund_no=str(fields["out_refund_no"]),
        status=state,
        refund_id=str(fields["refund_id"]),
        amount=Decimal(refund) / 100,
        detail="" if state in (REFUND_SUCCESS, REFUND_PROCESSING) else _refund_detail(fields),
    )


def _refund_detail(fields: dict) -> str:
    """Why a refund failed, for finance: WeChat's state and the account it meant to pay."""
    state = fields.get("refund_status") or fields.get("status")
    account = fields.get("user_received_account")
    return f"WeChat Pay {state}" + (f" ({account})" if account else "")


def _refused(call: str, status: int, answer: dict) -> PaymentGatewayError:
    detail = f"HTTP {status} {answer.get('code', '')} {answer.get('message', '')}".strip()
    logger.warning("WeChat Pay %s refused: %s", call, detail)
    return PaymentGatewayError(detail[:200])


def _fen(amount: Decimal) -> int:
    return int((amount * 100).to_integral_exact())


def _app_id(channel: str) -> str:
    if channel == Order.PaymentChannel.WECHAT_BROWSER:
        return settings.WECHAT_OA_APP_ID
    return settings.WECHATPAY_APP_ID


def _our_app_ids() -> set[str]:
    """The app ids a payment of ours is made under (the official account's, if any)."""
    return {settings.WECHATPAY_APP_ID} | (
        {settings.WECHAT_OA_APP_ID} if settings.WECHAT_OA_APP_ID else set()
    )


def _payer(order) -> tuple[str, str]:
    """The app id and the openid JSAPI pays as: the WeChat user the member signed in with,
    in the mini-program, or bound through the official account, in WeChat's browser."""
    if order.payment_channel == Order.PaymentChannel.WECHAT_BROWSER:
        kind, unknown = MemberIdentity.Kind.WECHAT_OA_OPENID, WechatBrowserPayerUnknown
        if not settings.WECHAT_OA_APP_ID:
            raise unknown()
    else:
        kind, unknown = MemberIdentity.Kind.WECHAT_OPENID, WechatPayerUnknown
    openid = (
        MemberIdentity.objects.filter(member_id=order.member_id, kind=kind)
        .order_by("-created_at", "-pk")
        .values_list("value", flat=True)
        .first()
    )
    if not openid:
        raise unknown()
    return _app_id(order.payment_channel), openid


def platform_public_key(path: str):
    """WeChat's platform key: a 微信支付公钥 (PEM public key) or a platform certificate."""
    pem = Path(path).read_bytes()
    if b"BEGIN CERTIFICATE" in pem:
        return x509.load_pem_x509_certificate(pem).public_key()
    return serialization.load_pem_public_key(pem)
