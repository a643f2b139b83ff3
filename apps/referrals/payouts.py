"""Withdrawals are paid out through one backend, chosen by PAYOUT_BACKEND.

A backend sends a withdrawal's money to the promoter (`transfer`) and answers the payout's
reference. It is called outside any transaction, with the withdrawal's own number as the
request's reference, so a retried call is one payout at the gateway (WeChat Pay's transfer
takes its out_batch_no once). It raises PayoutFailed when the gateway refuses for good.

The sandbox, the embedded default, pays nobody and answers at once; it is a stand-in, which
apps/core/checks.py refuses on a production site. An empty PAYOUT_BACKEND turns payouts off:
finance cannot approve a withdrawal, and nothing changes when they try. A WeChat Pay transfer
backend (to the member's openid) is still to come.
"""

from abc import ABC, abstractmethod
from decimal import Decimal

from django.conf import settings
from django.utils.module_loading import import_string

from apps.referrals.errors import PayoutsOff


class PayoutBackend(ABC):
    stand_in = False

    @abstractmethod
    def transfer(self, *, reference: str, openid: str, amount: Decimal, description: str) -> str:
        """Pay `amount` yuan to the member of `openid`; the payout's reference."""


class SandboxPayoutBackend(PayoutBackend):
    stand_in = True

    def transfer(self, *, reference: str, openid: str, amount: Decimal, description: str) -> str:
        return f"SANDBOX-{reference}"


def payout_backend() -> PayoutBackend:
    if not settings.PAYOUT_BACKEND:
        raise PayoutsOff()
    return import_string(settings.PAYOUT_BACKEND)()
