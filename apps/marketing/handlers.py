"""What the marketing app does when other apps' events happen."""

from apps.core.events import on_event
from apps.marketing.models import Message, WechatSubscription


@on_event("member_deleted")
def forget_messages_of_deleted_member(event) -> None:
    """A closed account's messages held their name and more: they go, with its
    subscriptions."""
    Message.objects.filter(member_id=event.payload["member"]).delete()
    WechatSubscription.objects.filter(member_id=event.payload["member"]).delete()
