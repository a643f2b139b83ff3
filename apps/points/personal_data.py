"""A member's points as they download them with their data (PIPL, `me/export`)."""

from apps.members.models import Member
from apps.points.selectors import points_history, points_totals, signed_amount


def member_points_data(member: Member) -> dict:
    """The balance as `me` shows it and every entry the member would see, oldest first."""
    return {
        **points_totals(member),
        "entries": [
            {
                "at": entry.created_at,
                "amount": signed_amount(entry, member),
                "kind": entry.kind,
                "description": entry.description,
            }
            for entry in points_history(member).order_by("created_at", "pk")
        ],
    }
