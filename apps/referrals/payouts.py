"""Withdrawals are paid out through one backend, chosen by PAYOUT_BACKEND.

A backend sends a withdrawal's money to the promoter (`transfer`) and answers the payout's
reference. It is called outside any transaction, with the withdrawal's own number as the
request's reference, so a retried call is one payout at the gateway (WeChat Pay's transfer
takes its out_batch_no once). It raises PayoutFailed when the gateway refuses for good.

The sandbox, the embedded default, pays nobody and answers at once. It says it is a stand-in
(`stand_in`, as the other backends do), but apps/core/checks.py does not refuse it in
production yet: no real payout backend exists to choose instead. A WeChat Pay transfer
backend (to the member's openid) is still to come; with it, PAYOUT_BACKEND joins the
checked backends there.
"""

from abc import ABC, abstractmethod
from decimal import Decimal

from django.conf import settings
from django.utils.module_loading import import_string


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
    return import_string(settings.PAYOUT_BACKEND)()
