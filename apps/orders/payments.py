"""Payments go through one backend, chosen by PAYMENT_BACKEND.

A backend (PaymentBackend below) opens an order at the gateway (`prepay`, once per order:
apps.orders.paying.order_payment_start keeps its prepay id) and signs what the client
needs to pay it (`params`), checks a notice the gateway posts to `/api/v1/payments/notify`
(`verify`, from the body and the headers: a payment, a refund's or a transfer's result),
asks the gateway whether an order was paid when no notice came (`query`), and gives money
back (`refund`, then `refund_query` until the refund is done). Its errors are
PaymentRejected (a notice that is not the gateway's, or not about us) and
PaymentGatewayError (the gateway could not be reached or refused a request). Every method
that talks to the gateway is called outside any transaction.

The sandbox backend, the embedded default, signs its own notices with the site's secret, so
the demo can pay without a gateway. It is a stand-in: with DEBUG off it is refused at start
unless HUIJI_SANDBOX says the site is a staging one (apps/core/checks.py). WeChat Pay is
apps.orders.wechatpay.WechatPayBackend.
"""

import functools
import hashlib
import hmac
import json
import secrets
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.signals import setting_changed
from django.db.models import F
from django.dispatch import receiver
from django.utils.module_loading import import_string

from apps.orders.errors import PaymentGatewayError, PaymentRejected


@dataclass(frozen=True)
class PaymentNotice:
    """The gateway says: this order was paid this amount, under this transaction id."""

    order_no: str
    amount: Decimal
    transaction_id: str


@dataclass(frozen=True)
class RefundResult:
    """Where the gateway's refund `refund_no` stands: `status` is one of REFUND_STATES;
    `detail` says why a refund failed, for finance."""

    refund_no: str
    status: str
    refund_id: str = ""
    amount: Decimal | None = None
    detail: str = ""


@dataclass(frozen=True)
class TransferNotice:
    """The gateway says: the transfer of `amount` we asked for under `bill_no` (a payout,
    apps.referrals.payouts), its `transfer_id` there, ended: `paid`, or not (failed or
    cancelled)."""

    bill_no: str
    paid: bool
    amount: Decimal
    transfer_id: str


REFUND_SUCCESS, REFUND_PROCESSING, REFUND_ABNORMAL, REFUND_CLOSED = REFUND_STATES = (
    "success",
    "processing",  # asked, not done yet: a notice or a query says how it ends
    "abnormal",  # the payer's account cannot take it back: finance refunds another way
    "closed",  # the gateway gave up the refund
)


class PaymentBackend(ABC):
    """What every payment backend does. `stand_in` marks a backend that takes no real money."""

    name = ""
    stand_in = False

    @abstractmethod
    def prepay(self, order) -> str:
        """Open `order` at the gateway: its reference for `params` (WeChat's prepay id).
        Asked again with the same order, the gateway answers the same reference."""

    @abstractmethod
    def params(self, order, prepay_id: str) -> dict:
        """What the client needs to pay `order` (for WeChat, wx.requestPayment's params),
        signed here without asking the gateway."""

    @abstractmethod
    def verify(
        self, body: bytes, headers: Mapping[str, str]
    ) -> PaymentNotice | RefundResult | TransferNotice | None:
        """The payment, the refund's or the transfer's result a notice reports, or None for a
        genuine notice about something else, which is acknowledged and ignored. Raises
        PaymentRejected."""

    @abstractmethod
    def query(self, order) -> PaymentNotice | None:
        """The order's payment if the gateway holds one, else None (never paid, or closed)."""

    @abstractmethod
    def refund(
        self, *, transaction_id: str, refund_no: str, amount: Decimal, total: Decimal, reason: str
    ) -> RefundResult:
        """Give `amount` of the payment `transaction_id` (of `total`) back to the payer. The
        same `refund_no` again is the same refund, never a second."""

    @abstractmethod
    def refund_query(self, refund_no: str) -> RefundResult | None:
        """Where the refund `refund_no` stands, or None if the gateway holds no such refund."""

    @classmethod
    def configuration_problems(cls) -> list[str]:
        """Settings this backend needs that are missing or unusable (system check E005)."""
        return []


class SandboxPaymentBackend(PaymentBackend):
    name = "sandbox"
    stand_in = True

    def prepay(self, order) -> str:
        return f"sandbox-{order.order_no}"

    def params(self, order, prepay_id: str) -> dict:
        return {"order_no": order.order_no, "amount": str(order.payable)}

    def notice(self, order) -> bytes:
        """What the sandbox gateway would post once the member has paid: a signed body."""
        body = {
            "order_no": order.order_no,
            "amount": str(order.payable),
            "transaction_id": f"sandbox-{secrets.token_hex(8)}",
        }
        text = json.dumps(body, sort_keys=True)
        return json.dumps({"body": text, "signature": _sign(text)}).encode()

    def verify(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotice:
        try:
            envelope = json.loads(body)
            text, signature = envelope["body"], envelope["signature"]
            if not hmac.compare_digest(str(signature), _sign(str(text))):
                raise PaymentRejected()
            fields = json.loads(text)
            return PaymentNotice(
                order_no=str(fields["order_no"]),
                amount=Decimal(fields["amount"]),
                transaction_id=str(fields["transaction_id"]),
            )
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            raise PaymentRejected() from exc

    def query(self, order) -> None:
        return None  # the sandbox is paid only through its notices

    def refund(self, *, transaction_id, refund_no, amount, total, reason) -> RefundResult:
        return RefundResult(refund_no, REFUND_SUCCESS, f"sandbox-refund-{refund_no}", amount)

    def refund_query(self, refund_no: str) -> RefundResult:
        return RefundResult(refund_no, REFUND_SUCCESS, f"sandbox-refund-{refund_no}")


def _sign(text: str) -> str:
    key = f"payment-sandbox:{settings.SECRET_KEY}".encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def payment_backend() -> PaymentBackend:
    """The configured backend, built once per process (WeChat Pay's reads its keys)."""
    return _backend(settings.PAYMENT_BACKEND)


@functools.cache
def _backend(path: str) -> PaymentBackend:
    return import_string(path)()


@receiver(setting_changed)
def _forget_backend(*, setting, **kwargs):
    if setting == "PAYMENT_BACKEND" or setting.startswith("WECHATPAY_"):
        _backend.cache_clear()


def refund_ask(row, *, transaction_id: str, amount: Decimal, total: Decimal, reason: str):
    """Ask the gateway for the refund that `row` stands for (a late payment or a refund
    request, with `refund_no`, `gateway_refund_id`, `attempts` and `last_error`): where it
    stands if the gateway has it already, else asked for under the same refund number, so
    that it is never made twice. Each asking is counted on the row; a gateway that cannot
    be reached leaves its error there, and None."""
    backend = payment_backend()
    rows = type(row).objects.filter(pk=row.pk)
    try:
        result = backend.refund_query(row.refund_no) if row.gateway_refund_id else None
        if result is None:
            result = backend.refund(
                transaction_id=transaction_id,
                refund_no=row.refund_no,
                amount=amount,
                total=total,
                reason=reason,
            )
    except PaymentGatewayError as exc:
        rows.update(attempts=F("attempts") + 1, last_error=(exc.detail or exc.code)[:200])
        return None
    rows.update(attempts=F("attempts") + 1)
    return result
