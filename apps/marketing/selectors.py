"""Reads of messages: a member's inbox, and the values a template's variables take."""

from django.db.models import F, Value
from django.db.models.functions import Coalesce

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


# The statuses of members who may be sent anything at all.
MEMBER_ACTIVE = (Member.Status.ACTIVE, Member.Status.FROZEN)


def members_for_messages(member_ids: list[int]) -> dict[int, dict]:
    """By member id, in one query: whether the member may be sent anything at all, their
    consent and their mobile number."""
    rows = Member.objects.filter(pk__any=member_ids).values(
        "pk", "phone", "status", "marketing_consent"
    )
    return {
        row["pk"]: {
            "active": row["status"] in MEMBER_ACTIVE,
            "consent": row["marketing_consent"],
            "phone": row["phone"] or "",
        }
        for row in rows
    }


def member_variables() -> dict:
    """A member's own variables of a message (name, tier, points, store), as expressions
    over members."""
    return {
        "name": F("name"),
        "tier": Coalesce(F("tier_state__tier__name"), Value("")),
        "points": Coalesce(F("points_account__balance"), Value(0)),
        "store": Coalesce(F("home_store__name"), Value("")),
    }
