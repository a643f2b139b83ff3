"""The member's side of messages: reading the inbox, and the one-time WeChat subscriptions
they accept in the mini-program (PUT me/subscriptions)."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.marketing.errors import MessageNotFound, UnknownWechatTemplate
from apps.marketing.models import Channel, MessageTemplate, WechatSubscription
from apps.marketing.selectors import member_inbox
from apps.members.models import Member


def message_read(*, member: Member, message_id: int) -> None:
    """Mark one of the member's inbox messages read (again: nothing changes); another
    member's, or a message not in the inbox, is not found."""
    inbox = member_inbox(member).filter(pk=message_id)
    if not inbox.filter(read_at__isnull=True).update(read_at=timezone.now()) and not inbox.exists():
        raise MessageNotFound()


@transaction.atomic
def subscriptions_accept(*, member: Member, accepted: dict[str, int]) -> dict[str, int]:
    """Add the one-time subscriptions the member just accepted, by WeChat template id, to
    what they had; answers what each of these templates now has left. Ids that no active
    WeChat message template uses are refused, and nothing is added."""
    known = set(
        MessageTemplate.objects.filter(
            channel=Channel.WECHAT, active=True, wechat_template_id__in=list(accepted)
        ).values_list("wechat_template_id", flat=True)
    )
    if unknown := sorted(set(accepted) - known):
        raise UnknownWechatTemplate(ids=", ".join(unknown))
    left = {}
    for template_id in sorted(accepted):
        subscription, created = WechatSubscription.objects.get_or_create(
            member=member, template_id=template_id, defaults={"remaining": accepted[template_id]}
        )
        if not created:
            WechatSubscription.objects.filter(pk=subscription.pk).update(
                remaining=F("remaining") + accepted[template_id]
            )
            subscription.refresh_from_db(fields=["remaining"])
        left[template_id] = subscription.remaining
    return left
