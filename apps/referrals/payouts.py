"""Withdrawals are paid out through one backend, chosen by PAYOUT_BACKEND.

A backend sends a withdrawal's money to the promoter (`transfer`) and answers the payout's
reference. It is called outside any transaction, with the withdrawal's own number as the
request's reference, so a retried call is one payout at the gateway. It raises PayoutFailed
when the gateway refuses for good (a transfer the member never confirmed included),
PayoutPending while the payout is not settled (the withdrawal stays approved, and
withdrawals_pay_out_due asks again later), and PayoutAwaitsConfirmation, a PayoutPending,
when the member must first confirm receipt (the withdrawal awaits their confirmation).

The sandbox, the embedded default, pays nobody and answers at once; it is a stand-in, which
apps/core/checks.py refuses on a production site. An empty PAYOUT_BACKEND turns payouts off:
finance cannot approve a withdrawal, and nothing changes when they try. WechatPayoutBackend
pays through WeChat Pay's 商家转账 to the member's mini-program openid.
"""

import logging
from abc import ABC, abstractmethod
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from apps.orders.errors import PaymentGatewayError
from apps.orders.wechatpay import (
    TRANSFER_AWAITS_MEMBER,
    TRANSFER_FAILED,
    TRANSFER_PAID,
    WechatPayBackend,
    platform_public_key,
    wechatpay_client,
    wechatpay_request,
)
from apps.referrals.errors import (
    PayoutAwaitsConfirmation,
    PayoutFailed,
    PayoutPending,
    PayoutsOff,
)

logger = logging.getLogger(__name__)


class PayoutBackend(ABC):
    stand_in = False
    needs_openid = False  # whether a promoter must have a mini-program openid to be paid

    @abstractmethod
    def transfer(
        self,
        *,
        reference: str,
        openid: str,
        amount: Decimal,
        description: str,
        package_held: bool = False,
    ) -> str:
        """Pay `amount` yuan to the member of `openid`; the payout's reference.
        `package_held`: the member already holds what they confirm receipt with, so a
        payout awaiting their confirmation need not ask the gateway for it again."""


class SandboxPayoutBackend(PayoutBackend):
    stand_in = True

    def transfer(
        self,
        *,
        reference: str,
        openid: str,
        amount: Decimal,
        description: str,
        package_held: bool = False,
    ) -> str:
        return f"SANDBOX-{reference}"


NAME_NEEDED_FEN = 200000  # WeChat wants the payee's real name from 2,000 yuan


class WechatPayoutBackend(PayoutBackend):
    """商家转账 (API v3 /v3/fund-app/mch-transfer/transfer-bills) to the promoter's openid
    under WECHATPAY_APP_ID, the withdrawal's number as out_bill_no. A transfer first asks
    WeChat about that number, so a retry after a lost answer reads the first bill's state
    instead of sending another; WeChat also takes an out_bill_no once.

    WeChat then waits for the member to confirm receipt in the mini-program: the answer to
    the transfer carries the package they confirm with (package_info), a query's does not.
    A bill found waiting whose package the member does not hold (the transfer's answer was
    lost) is asked for again under the same number: WeChat answers with that bill.

    A bill WeChat has may still be paid, so only its own state there (FAIL, CANCELLED) fails
    the withdrawal, giving the money back; a send WeChat refuses after answering that it has
    no such bill does too (so does a missing openid or a missing real name, checked then).
    Any other answer to the query (a rotated certificate's 401, a 403) leaves the payout
    pending, logged as an error, for the job to ask again.

    WeChat notices a bill's end at WECHATPAY_NOTIFY_URL (the library sends it as notify_url);
    apps.referrals.withdrawals.withdrawal_transfer_noticed settles the withdrawal on it."""

    needs_openid = True
    timeout = None  # (seconds to connect, to read an answer); None: WECHATPAY_TIMEOUT_SECONDS

    def __init__(self):
        if problems := self.configuration_problems():
            raise ImproperlyConfigured("; ".join(problems))
        self._client = wechatpay_client(
            platform_public_key(settings.WECHATPAY_PLATFORM_KEY_PATH), self.timeout
        )

    @classmethod
    def configuration_problems(cls) -> list[str]:
        """The merchant's settings, as for payments (apps/core/checks.py reports them)."""
        problems = WechatPayBackend.configuration_problems()
        if not settings.WECHATPAY_TRANSFER_SCENE_ID:
            problems.append("WeChat Pay transfers need WECHATPAY_TRANSFER_SCENE_ID.")
        return problems

    def transfer(
        self,
        *,
        reference: str,
        openid: str,
        amount: Decimal,
        description: str,
        package_held: bool = False,
    ) -> str:
        fen = int((amount * 100).to_integral_exact())
        status, answer = self._call(self._client.mch_transfer_bills_query, out_bill_no=reference)
        if status == 404:  # NOT_FOUND: the bill never reached WeChat, so may still be refused
            if not openid:
                raise PayoutFailed("no WeChat openid to pay")
            if fen >= NAME_NEEDED_FEN:
                raise PayoutFailed("WeChat Pay needs the payee's real name from 2,000 yuan")
            status, answer = self._send(reference, openid, fen, description)
            if status != 200 and status < 500 and status != 429:
                code, message = answer.get("code", ""), answer.get("message", "")
                raise PayoutFailed(f"WeChat Pay {status} {code} {message}".strip())
        elif status != 200:
            # the bill may exist and be paid yet: only its own state at WeChat may fail it
            logger.error(
                "WeChat Pay answered %s %s to the query of bill %s",
                status,
                answer.get("code", ""),
                reference,
            )
            raise PayoutPending(f"WeChat Pay HTTP {status} to the query")
        elif answer.get("state") == TRANSFER_AWAITS_MEMBER and not package_held and openid:
            # the transfer's answer, with the package, was lost: asked again, WeChat answers
            # with the bill; any other answer leaves it as queried, waiting (never failed)
            again_status, again = self._send(reference, openid, fen, description)
            if again_status == 200 and again.get("state") == TRANSFER_AWAITS_MEMBER:
                answer = again
        if status != 200:  # the send went unheard or WeChat is busy: the query tells later
            raise PayoutPending(f"WeChat Pay HTTP {status}")
        state = answer.get("state")
        if state == TRANSFER_PAID:
            return str(answer.get("transfer_bill_no") or reference)
        if state in TRANSFER_FAILED:
            raise PayoutFailed(f"WeChat Pay {state} {answer.get('fail_reason', '')}".strip())
        if state == TRANSFER_AWAITS_MEMBER:
            raise PayoutAwaitsConfirmation(str(answer.get("package_info") or ""))
        raise PayoutPending(f"WeChat Pay {state}")

    def _send(self, reference: str, openid: str, fen: int, description: str) -> tuple[int, dict]:
        return self._call(
            self._client.mch_transfer_bills,
            out_bill_no=reference,
            transfer_scene_id=settings.WECHATPAY_TRANSFER_SCENE_ID,
            openid=openid,
            transfer_amount=fen,
            transfer_remark=description[:32],
            transfer_scene_report_infos=[
                {"info_type": "岗位类型", "info_content": "推广员"},
                {"info_type": "报酬说明", "info_content": description[:32]},
            ],
        )

    @staticmethod
    def _call(call, **params) -> tuple[int, dict]:
        try:
            return wechatpay_request(call, **params)
        except PaymentGatewayError as exc:
            raise PayoutPending(str(exc)) from exc


def payout_backend() -> PayoutBackend:
    if not settings.PAYOUT_BACKEND:
        raise PayoutsOff()
    return import_string(settings.PAYOUT_BACKEND)()
