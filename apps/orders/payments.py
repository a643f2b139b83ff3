"""Payments go through one backend, chosen by PAYMENT_BACKEND.

A backend turns an order into what the mini-program needs to start paying (`start`), and
checks a payment notification from the gateway (`verify`), answering the order number,
the amount and the gateway's transaction id — or raising PaymentRejected. The sandbox
backend (the embedded default) signs its own notifications with the site's secret, so the
demo can pay without a real gateway; a real one (WeChat Pay) is a class with the same two
methods, named in PAYMENT_BACKEND.
"""

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils.module_loading import import_string

from apps.orders.errors import PaymentRejected


@dataclass(frozen=True)
class PaymentNotice:
    order_no: str
    amount: Decimal
    transaction_id: str


class SandboxPaymentBackend:
    name = "sandbox"

    def start(self, order) -> dict:
        return {"backend": self.name, "order_no": order.order_no, "amount": str(order.payable)}

    def notice(self, order) -> bytes:
        """What the sandbox gateway would post once the member has paid: a signed body."""
        body = {
            "order_no": order.order_no,
            "amount": str(order.payable),
            "transaction_id": f"sandbox-{secrets.token_hex(8)}",
        }
        text = json.dumps(body, sort_keys=True)
        return json.dumps({"body": text, "signature": _sign(text)}).encode()

    def verify(self, raw: bytes) -> PaymentNotice:
        try:
            envelope = json.loads(raw)
            text, signature = envelope["body"], envelope["signature"]
            body = json.loads(text)
        except (ValueError, KeyError, TypeError) as exc:
            raise PaymentRejected() from exc
        if not hmac.compare_digest(signature, _sign(text)):
            raise PaymentRejected()
        return PaymentNotice(
            order_no=body["order_no"],
            amount=Decimal(body["amount"]),
            transaction_id=body["transaction_id"],
        )


def _sign(text: str) -> str:
    key = f"payment-sandbox:{settings.SECRET_KEY}".encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def payment_backend():
    return import_string(settings.PAYMENT_BACKEND)()
