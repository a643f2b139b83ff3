"""Coupons other apps' events earn: join gift, tier upgrade gift; and what coupons forget of
a member who closed their account. Referral rewards are given after the friend's first
order has passed its return window, never at joining (apps.referrals.rewards)."""

from apps.core.events import on_event
from apps.coupons.batches import issue_batches_forget_phone
from apps.coupons.issuing import coupon_issue_for_event, templates_for
from apps.coupons.models import Coupon, CouponTemplate
from apps.members.models import Member

AutoIssue = CouponTemplate.AutoIssue
Cause = Coupon.CauseKind


@on_event("member_joined")
def give_join_coupons(event) -> None:
    member = Member.objects.get(pk=event.payload["member"])
    if member.returning:  # the welcome is once per person
        return
    for template in templates_for(AutoIssue.JOIN):
        coupon_issue_for_event(
            template=template, member=member, cause_kind=Cause.JOIN, cause_id=member.pk
        )


@on_event("tier_changed")
def give_tier_upgrade_coupons(event) -> None:
    """The template's tiers say which upgrades earn it (none: every upgrade)."""
    if event.payload.get("reason") != "upgrade":
        return
    member = Member.objects.get(pk=event.payload["member"])
    for template in templates_for(AutoIssue.TIER_UPGRADE):
        coupon_issue_for_event(
            template=template, member=member, cause_kind=Cause.TIER_UPGRADE, cause_id=event.pk
        )


@on_event("member_merged")
def move_coupons_of_merged_member(event) -> None:
    """The wallet follows the person: every coupon of the merged member is the survivor's
    (each still `issued_to` the merged member, whose claims and gifts they were)."""
    Coupon.objects.filter(member_id=event.payload["merged"]).update(
        member_id=event.payload["survivor"]
    )


@on_event("member_deleted")
def forget_deleted_members_phone(event) -> None:
    if phone_hash_of := event.payload.get("phone_hash"):
        issue_batches_forget_phone(phone_hash_of=phone_hash_of)
