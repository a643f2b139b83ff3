from celery import shared_task

from apps.referrals.commissions import commissions_release_due
from apps.referrals.models import Withdrawal
from apps.referrals.rewards import referral_rewards_give_due
from apps.referrals.withdrawals import withdrawal_pay_out, withdrawals_pay_out_due


@shared_task
def commissions_release_task() -> None:
    commissions_release_due()


@shared_task
def referral_rewards_task() -> None:
    referral_rewards_give_due()


@shared_task
def withdrawals_pay_out_task() -> None:
    withdrawals_pay_out_due()


@shared_task
def withdrawal_pay_out_task(withdrawal_id: int) -> None:
    """Started by a transfer notice that does not say the withdrawal was paid: WeChat is
    asked how its payout ended. One WeChat cannot answer is asked again by
    withdrawals_pay_out_task."""
    withdrawal_pay_out(withdrawal=Withdrawal.objects.get(pk=withdrawal_id))
