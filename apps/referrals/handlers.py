"""What orders and members tell distribution, through events. Each handler is idempotent."""

from apps.core.events import on_event
from apps.referrals.clawback import referral_rewards_claw_back
from apps.referrals.commissions import commissions_reverse, commissions_write
from apps.referrals.merging import promoters_merge
from apps.referrals.rewards import (
    referral_closed,
    referral_first_order,
    referral_record,
    referrals_merge,
)


@on_event("order_paid")
def write_commissions(event) -> None:
    commissions_write(order_id=event.payload["order"])


@on_event("order_paid")
def start_referral_window(event) -> None:
    referral_first_order(order_id=event.payload["order"])


@on_event("order_refunded")
def reverse_commissions(event) -> None:
    commissions_reverse(refund_id=event.payload["refund"])


@on_event("order_refunded")
def claw_back_referral_rewards(event) -> None:
    referral_rewards_claw_back(refund_id=event.payload["refund"])


@on_event("member_joined")
def record_referral(event) -> None:
    if referrer := event.payload.get("referrer"):
        referral_record(
            referee_id=event.payload["member"],
            referrer_id=referrer,
            requester=event.payload.get("requester", ""),
            device=event.payload.get("device", ""),
        )


@on_event("member_merged")
def merge_referrals(event) -> None:
    referrals_merge(survivor_id=event.payload["survivor"], merged_id=event.payload["merged"])


@on_event("member_merged")
def merge_promoters(event) -> None:
    promoters_merge(survivor_id=event.payload["survivor"], merged_id=event.payload["merged"])


@on_event("member_deleted")
def close_referral(event) -> None:
    referral_closed(member_id=event.payload["member"])
