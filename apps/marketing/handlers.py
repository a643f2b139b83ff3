"""What the marketing app does when other apps' events happen."""

from django.db.models import Exists, F, OuterRef

from apps.core.events import on_event
from apps.marketing.models import Message, WechatSubscription


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
