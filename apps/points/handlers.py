"""What other apps tell the points ledger, through events. Each handler is idempotent."""

from apps.core.events import on_event
from apps.members.models import Member
from apps.points.earning import first_purchase_bonus_award, points_award_event
from apps.points.models import EarningRule, Entry
from apps.points.services import points_earn, points_merge_members


@on_event("member_merged")
def move_points_of_merged_member(event) -> None:
    points_merge_members(
        survivor=Member.objects.get(pk=event.payload["survivor"]),
        merged=Member.objects.get(pk=event.payload["merged"]),
    )


@on_event("members_imported")
def credit_imported_points(event) -> None:
    import_id = event.payload["import"]
    members = Member.objects.in_bulk([member_id for member_id, _points in event.payload["points"]])
    for member_id, points in event.payload["points"]:
        points_earn(
            member=members[member_id],
            amount=points,
            pending=False,
            kind=Entry.Kind.ADJUST,
            cause_kind=Entry.CauseKind.IMPORT,
            cause_id=import_id,
            description=f"从{event.payload['platform']}迁移积分",
            part=0,  # a chunk of members in one transaction
        )


@on_event("member_joined")
def give_join_bonus(event) -> None:
    member = Member.objects.get(pk=event.payload["member"])
    points_award_event(member=member, event=EarningRule.Event.JOIN, cause_id=member.pk)


@on_event("member_profile_completed")
def give_profile_bonus(event) -> None:
    member = Member.objects.get(pk=event.payload["member"])
    points_award_event(
        member=member,
        event=EarningRule.Event.PROFILE_COMPLETE,
        cause_id=member.pk,
    )


@on_event("order_paid")
def give_first_purchase_bonus(event) -> None:
    if not event.payload.get("first_purchase"):
        return
    member = Member.objects.get(pk=event.payload["member"])
    first_purchase_bonus_award(member=member, order_id=event.payload["order"])
