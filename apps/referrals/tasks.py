from celery import shared_task

from apps.referrals.commissions import commissions_release_due
from apps.referrals.rewards import referral_rewards_give_due
from apps.referrals.withdrawals import withdrawals_pay_out_due


@shared_task
def commissions_release_task() -> None:
    commissions_release_due()


@shared_task
def referral_rewards_task() -> None:
    referral_rewards_give_due()


@shared_task
def withdrawals_pay_out_task() -> None:
    withdrawals_pay_out_due()
