"""Reads of messages: a member's inbox, and the values a template's variables take."""

from apps.marketing.models import Channel, Message
from apps.members.models import Member


def member_inbox(member: Member):
    """The member's inbox: messages sent to it, newest first."""
    return Message.objects.filter(
        member=member, channel=Channel.INBOX, status=Message.Status.SENT
    ).order_by("-pk")


def member_inbox_unread(member: Member) -> int:
    """How many of the member's inbox messages are not read yet."""
    return member_inbox(member).filter(read_at__isnull=True).count()


def members_for_messages(member_ids: list[int]) -> dict[int, dict]:
    """By member id, in one query: whether the member may be sent anything at all, their
    consent, their mobile number, and the member's variables (name, tier, points, store)."""
    rows = Member.objects.filter(pk__any=member_ids).values(
        "pk",
        "phone",
        "status",
        "marketing_consent",
        "name",
        "home_store__name",
        "tier_state__tier__name",
        "points_account__balance",
    )
    return {
        row["pk"]: {
            "active": row["status"] in (Member.Status.ACTIVE, Member.Status.FROZEN),
            "consent": row["marketing_consent"],
            "phone": row["phone"] or "",
            "values": {
                "name": row["name"],
                "tier": row["tier_state__tier__name"] or "",
                "points": row["points_account__balance"] or 0,
                "store": row["home_store__name"] or "",
            },
        }
        for row in rows
    }
