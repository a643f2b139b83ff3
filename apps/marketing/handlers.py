"""What the marketing app does when other apps' events happen."""

from decimal import Decimal

from django.db.models import Exists, F, OuterRef

from apps.core.events import on_event
from apps.marketing.models import Campaign, Message, WechatSubscription


@on_event("member_merged")
def move_messages_of_merged_member(event) -> None:
    """The inbox and the subscriptions follow the person into the surviving member; a
    message the survivor also had for the same template and cause is dropped as the same."""
    merged, survivor = event.payload["merged"], event.payload["survivor"]
    theirs = Message.objects.filter(
        member_id=survivor, template=OuterRef("template"), cause_kind=OuterRef("cause_kind"),
        cause_id=OuterRef("cause_id"),
    )  # fmt: skip
    Message.objects.filter(member_id=merged).exclude(Exists(theirs)).update(member_id=survivor)
    Message.objects.filter(member_id=merged).delete()
    for subscription in WechatSubscription.objects.filter(member_id=merged).order_by("pk"):
        kept, created = WechatSubscription.objects.get_or_create(
            member_id=survivor,
            template_id=subscription.template_id,
            defaults={"remaining": subscription.remaining},
        )
        if not created:
            WechatSubscription.objects.filter(pk=kept.pk).update(
                remaining=F("remaining") + subscription.remaining
            )
    WechatSubscription.objects.filter(member_id=merged).delete()


@on_event("member_deleted")
def forget_messages_of_deleted_member(event) -> None:
    """A closed account's messages held their name and more: they go, with its
    subscriptions."""
    Message.objects.filter(member_id=event.payload["member"]).delete()
    WechatSubscription.objects.filter(member_id=event.payload["member"]).delete()


def _campaigns_on(trigger: str, event, *, key: str, payable: str | None = None) -> None:
    """Run each live campaign on `trigger` for the event's member, once per `key`."""
    from apps.marketing.campaigns import campaign_run_for_member

    campaigns = Campaign.objects.filter(
        trigger=trigger, status__in=[Campaign.Status.SCHEDULED, Campaign.Status.RUNNING]
    ).order_by("pk")
    for campaign in campaigns:
        if payable is not None and campaign.min_payable and Decimal(payable) < campaign.min_payable:
            continue
        campaign_run_for_member(campaign_id=campaign.pk, member_id=event.payload["member"], key=key)


@on_event("member_joined")
def campaigns_on_joining(event) -> None:
    _campaigns_on(Campaign.Trigger.JOINED, event, key="joined")


@on_event("order_paid")
def campaigns_on_order(event) -> None:
    if not event.payload.get("member"):
        return
    payable = event.payload["payable"]
    _campaigns_on(Campaign.Trigger.ORDER_PAID, event, key=f"order-{event.payload['order']}",
                  payable=payable)  # fmt: skip
    if event.payload.get("first_purchase"):
        _campaigns_on(Campaign.Trigger.FIRST_ORDER, event, key="first-order", payable=payable)


@on_event("tier_changed")
def campaigns_on_tier_change(event) -> None:
    from apps.tiers.models import Tier

    ranks = dict(Tier.objects.values_list("code", "rank"))
    if ranks.get(event.payload["to"], -1) > ranks.get(event.payload["from"], -1):
        _campaigns_on(Campaign.Trigger.TIER_UP, event, key=f"event-{event.pk}")


@on_event("tier_downgrade_warning")
def campaigns_on_downgrade_warning(event) -> None:
    _campaigns_on(Campaign.Trigger.TIER_WARNING, event, key=f"event-{event.pk}")


@on_event("coupons_expiring")
def campaigns_on_coupons_expiring(event) -> None:
    _campaigns_on(Campaign.Trigger.COUPONS_EXPIRING, event, key=f"event-{event.pk}")
