"""A member's messages, WeChat subscriptions and the calls stores made to them as they
download them with their data (PIPL, `me/export`)."""

from apps.marketing.models import CareCall, Message, WechatSubscription
from apps.members.models import Member


def member_messages_data(member: Member) -> dict:
    messages = Message.objects.filter(member=member).order_by("pk")
    subscriptions = WechatSubscription.objects.filter(member=member).order_by("template_id")
    calls = (
        CareCall.objects.filter(member=member, done_at__isnull=False)
        .select_related("store", "task")
        .order_by("pk")
    )
    return {
        "messages": [
            {
                "channel": message.channel,
                "title": message.title,
                "body": message.body,
                "link": message.link,
                "status": message.status,
                "reason": message.reason,
                "queued_at": message.created_at,
                "sent_at": message.sent_at,
                "read_at": message.read_at,
            }
            for message in messages
        ],
        "wechat_subscriptions": [
            {"template_id": s.template_id, "remaining": s.remaining} for s in subscriptions
        ],
        "care_calls": [
            {
                "store": call.store.code,
                "task": call.task.name,
                "day": call.day,
                "outcome": call.outcome,
                "note": call.note,
                "done_at": call.done_at,
            }
            for call in calls
        ],
    }
