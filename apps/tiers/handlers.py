"""Growth value that other apps' events earn: joining and completing the profile, once each."""

from django.conf import settings

from apps.core.events import on_event
from apps.members.models import Member
from apps.tiers.models import GrowthEntry
from apps.tiers.services import growth_earn


@on_event("member_joined")
def give_growth_for_joining(event) -> None:
    _growth_for_action(
        event, GrowthEntry.CauseKind.JOIN, settings.GROWTH_FOR_JOINING, "加入会员得成长值"
    )


@on_event("member_profile_completed")
def give_growth_for_profile(event) -> None:
    _growth_for_action(
        event,
        GrowthEntry.CauseKind.PROFILE_COMPLETE,
        settings.GROWTH_FOR_PROFILE,
        "完善资料得成长值",
    )


def _growth_for_action(event, cause_kind: str, amount: int, description: str) -> None:
    if amount <= 0:
        return
    member = Member.objects.get(pk=event.payload["member"])
    if member.returning:  # joined again with a deleted account's phone: had these once
        return
    growth_earn(
        member=member,
        amount=amount,
        kind=GrowthEntry.Kind.ACTION,
        cause_kind=cause_kind,
        cause_id=member.pk,
        description=description,
    )
