"""Who a campaign is for now: its audience, narrowed by its trigger, without the global
control group. The control group and a campaign's holdout are stable random shares of
members: a member is in one when the first hex digits of md5(salt:member id) fall below the
share, computed the same way in SQL (for whole audiences) and in Python (for a few)."""

import functools
import hashlib
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import CharField, Exists, OuterRef, QuerySet, Value
from django.db.models.functions import MD5, Cast, Concat, Substr
from django.utils import timezone

from apps.marketing.models import Campaign, ControlGroup
from apps.members.models import Member
from apps.members.segments import SegmentCriteria, born_on, not_seen_since, segment_members
from apps.points.models import Lot
from apps.tiers.segments import members_in_tiers

_DIGITS = 6  # hex digits of the hash compared: a share is exact to 1/16^6


@functools.cache  # a run asks for each member of a chunk, for one or two shares
def _threshold(percent: Decimal) -> str:
    return f"{int(Decimal(percent) * 16**_DIGITS / 100):0{_DIGITS}x}"


def in_share(member_id: int, *, percent: Decimal, salt: str) -> bool:
    """Whether the member falls in the `percent` share drawn with `salt`."""
    digest = hashlib.md5(f"{salt}:{member_id}".encode()).hexdigest()[:_DIGITS]
    return bool(percent) and digest < _threshold(percent)


def share_hash(salt: str):
    """The SQL expression `in_share` compares, over a queryset of members."""
    return Substr(
        MD5(Concat(Value(f"{salt}:"), Cast("pk", CharField()), output_field=CharField())),
        1,
        _DIGITS,
    )


def members_in_share(members: QuerySet, *, percent: Decimal, salt: str) -> QuerySet:
    if not percent:
        return members.none()
    return members.alias(share=share_hash(salt)).filter(share__lt=_threshold(percent))


def members_outside_share(members: QuerySet, *, percent: Decimal, salt: str) -> QuerySet:
    if not percent:
        return members
    return members.alias(share=share_hash(salt)).exclude(share__lt=_threshold(percent))


def control_group() -> ControlGroup:
    return ControlGroup.objects.order_by("pk").first() or ControlGroup.objects.create()


def campaign_audience(campaign: Campaign, *, now: datetime | None = None) -> QuerySet[Member]:
    """The members the campaign is for at `now`: its audience, those its trigger picks today
    (birthdays, dormant members, points about to expire), who agreed to marketing when it
    asks, never the global control group."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    members = Member.objects.filter(status=Member.Status.ACTIVE)
    match campaign.audience:
        case Campaign.Audience.SEGMENT:
            members = segment_members(SegmentCriteria.of(campaign.segment), now=now)
        case Campaign.Audience.TIER:
            members = members_in_tiers(members, [campaign.tier.code])
        case Campaign.Audience.STORE:
            members = members.filter(home_store_id=campaign.store_id)
        case Campaign.Audience.DISTRIBUTOR:
            members = members.filter(home_store__distributor_id=campaign.distributor_id)
    match campaign.trigger:
        case Campaign.Trigger.BIRTHDAY_DAY:
            members = members.filter(born_on(today))
        case Campaign.Trigger.BIRTHDAY_MONTH:
            members = members.filter(birthday__month=today.month)
        case Campaign.Trigger.DORMANT:
            members = members.filter(not_seen_since(now - timedelta(days=campaign.days)))
        case Campaign.Trigger.POINTS_EXPIRING:
            expiring = Lot.objects.filter(
                member=OuterRef("pk"),
                status=Lot.Status.AVAILABLE,
                remaining__gt=0,
                expires_on__gte=today,
                expires_on__lte=today + timedelta(days=campaign.days),
            )
            members = members.filter(Exists(expiring))
    if campaign.consent_only:
        members = members.filter(marketing_consent=True)
    control = control_group()
    return members_outside_share(members, percent=control.percent, salt=control.salt)
