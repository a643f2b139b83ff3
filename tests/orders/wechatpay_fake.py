"""WeChat Pay as the tests see it: a merchant key and a platform key made here, notices in
WeChat's documented format, and a local fake of the API v3 that checks each request's
signature and signs its answers as WeChat does."""

import json
import re
import secrets
import time
from base64 import b64decode, b64encode
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.fake_http import Answer, Received

MCH_ID = "1900000109"
APP_ID = "wxd678efh567hg6787"
APIV3_KEY = "0123456789abcdef0123456789abcdef"
CERT_SERIAL_NO = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PLATFORM_KEY_ID = "PUB_KEY_ID_0111111111111111111111111111111"


@dataclass
class Keys:
    merchant: rsa.RSAPrivateKey  # the merchant's API key: signs our requests and pay params
    platform: rsa.RSAPrivateKey  # WeChat's: signs its answers and notices

    def write(self, directory) -> dict[str, str]:
        merchant = directory / "apiclient_key.pem"
        merchant.write_bytes(
            self.merchant.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        platform = directory / "pub_key.pem"
        platform.write_bytes(
            self.platform.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        return {"merchant": str(merchant), "platform": str(platform)}


def keys() -> Keys:
    return Keys(*(rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in "12"))


def sign(private_key, text: str) -> str:
    return b64encode(private_key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def verifies(public_key, text: str, signature: str) -> bool:
    try:
        public_key.verify(b64decode(signature), text.encode(), padding.PKCS1v15(), hashes.SHA256())
    except Exception:
        return False
    return True


def paid_resource(order_no: str, total_fen: int, **changes) -> dict:
    """A paid transaction as a notice's resource and a query's answer hold it."""
    return {
        "mchid": MCH_ID,
        "appid": APP_ID,
        "out_trade_no": order_no,
        "transaction_id": "4200001234202612030123456789",
        "trade_type": "JSAPI",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "OTHERS",
        "attach": "",
        "success_time": "2026-12-03T20:20:00+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": total_fen, "payer_total": total_fen, "currency": "CNY"},
        **changes,
    }


def refund_resource(refund_no: str, refund_fen: int, status: str = "SUCCESS", **changes) -> dict:
    """A refund as a REFUND.* notice's resource holds it (a refund's answer or query says
    `status` where the notice says `refund_status`)."""
    return {
        "mchid": MCH_ID,
        "out_trade_no": "S009-20261203-0001",
        "transaction_id": "4200001234202612030123456789",
        "out_refund_no": refund_no,
        "refund_id": "50000000382019052709732678859",
        "refund_status": status,
        "success_time": "2026-12-03T20:25:00+08:00",
        "user_received_account": "招商银行信用卡0403",
        "amount": {
            "total": refund_fen,
            "refund": refund_fen,
            "payer_total": refund_fen,
            "payer_refund": refund_fen,
        },
        **changes,
    }


def refund_answer(refund_no: str, refund_fen: int, status: str) -> dict:
    """WeChat's answer to a refund or a refund query."""
    fields = refund_resource(refund_no, refund_fen, status)
    del fields["mchid"]
    fields["status"] = fields.pop("refund_status")
    return fields


def transfer_resource(bill_no: str, fen: int, state: str = "SUCCESS", **changes) -> dict:
    """A 商家转账 bill as a MCHTRANSFER.BILL.FINISHED notice's resource holds it."""
    return {
        "mchid": MCH_ID,
        "out_bill_no": bill_no,
        "transfer_bill_no": "1330000071100999991182020050700019480001",
        "state": state,
        "transfer_amount": fen,
        "fail_reason": "" if state == "SUCCESS" else "PAYEE_ACCOUNT_ABNORMAL",
        "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "create_time": "2026-12-03T20:20:00.120+08:00",
        "update_time": "2026-12-03T20:25:00.120+08:00",
        **changes,
    }


def notice(
    platform_key,
    resource: dict | None,
    *,
    event_type: str = "TRANSACTION.SUCCESS",
    associated_data: str = "transaction",
    apiv3_key: str = APIV3_KEY,
    key_id: str = PLATFORM_KEY_ID,
    timestamp: int | None = None,
    body: bytes | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A notice as WeChat Pay posts it: the body, and the headers that sign it."""
    if body is None:
        nonce = secrets.token_hex(6)  # 12 characters, as WeChat's
        ciphertext = AESGCM(apiv3_key.encode()).encrypt(
            nonce.encode(), json.dumps(resource).encode(), associated_data.encode()
        )
        body = json.dumps(
            {
                "id": "EV-2018022511223320873",
                "create_time": "2026-12-03T20:20:01+08:00",
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": "支付成功",
                "resource": {
                    "original_type": "transaction",
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": b64encode(ciphertext).decode(),
                    "associated_data": associated_data,
                    "nonce": nonce,
                },
            }
        ).encode()
    return body, signed_headers(platform_key, body, key_id=key_id, timestamp=timestamp)


def signed_headers(platform_key, body: bytes, *, key_id=PLATFORM_KEY_ID, timestamp=None) -> dict:
    timestamp = str(timestamp if timestamp is not None else int(time.time()))
    nonce = secrets.token_hex(16)
    return {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": sign(platform_key, f"{timestamp}\n{nonce}\n{body.decode()}\n"),
        "Wechatpay-Serial": key_id,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }


_AUTHORIZATION = re.compile(r'(\w+)="([^"]*)"')


def signed_by_merchant(keys: Keys, request: Received) -> bool:
    """Whether a request carries the merchant's signature, as WeChat Pay checks it."""
    scheme, _, fields = request.headers.get("authorization", "").partition(" ")
    values = dict(_AUTHORIZATION.findall(fields))
    text = (
        f"{request.method}\n{request.path}\n{values.get('timestamp')}\n"
        f"{values.get('nonce_str')}\n{request.body.decode()}\n"
    )
    return (
        scheme == "WECHATPAY2-SHA256-RSA2048"
        and values.get("mchid") == MCH_ID
        and values.get("serial_no") == CERT_SERIAL_NO
        and verifies(keys.merchant.public_key(), text, values.get("signature", ""))
    )


def answer(keys: Keys, status: int, payload: dict | None) -> Answer:
    """WeChat Pay's answer, signed with the platform key as the library checks it."""
    body = json.dumps(payload).encode() if payload is not None else b""
    return Answer(status, body, signed_headers(keys.platform, body))
