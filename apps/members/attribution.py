"""Attribution (DESIGN.md): which promoter a member is bound to, by the one rule HQ sets, and
whom an order placed now credits. The rule is a pure function (`binding_allowed`); the
binding is written by `promoter_bind`, never to the member themself nor to one of their own
downline; `promoters_for` is what an order records when it is placed."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from apps.members.errors import BindingRefused
from apps.members.models import Member, PromoterBinding


class BindingMode:
    FIRST = "first"  # the first touch binds for good
    PROTECTED = "protected"  # the first touch is protected for some days, then open
    LAST = "last"  # each new touch binds again (last click)


@dataclass(frozen=True)
class BindingRule:
    mode: str = BindingMode.FIRST
    protect_days: int = 0  # PROTECTED: days before another touch may bind
    binding_days: int = 0  # how long a binding credits; 0: for good
    existing_members: bool = True  # whether a touch binds a member who joined before it

    def ends_at(self, start: datetime) -> datetime | None:
        return start + timedelta(days=self.binding_days) if self.binding_days else None


def binding_rule() -> BindingRule:
    """HQ's rule, from the settings (PROMOTER_BINDING…)."""
    return BindingRule(
        mode=settings.PROMOTER_BINDING,
        protect_days=settings.PROMOTER_PROTECT_DAYS,
        binding_days=settings.PROMOTER_BINDING_DAYS,
        existing_members=settings.PROMOTER_BIND_EXISTING,
    )


def binding_live(started_at: datetime, ends_at: datetime | None, now: datetime) -> bool:
    return started_at <= now and (ends_at is None or ends_at > now)


def binding_allowed(
    rule: BindingRule,
    *,
    current: tuple[datetime, datetime | None] | None,
    now: datetime,
    new_member: bool,
) -> bool:
    """Whether a touch now binds a member whose current binding started and ends as
    `current` (None: they have none) to a new promoter. `new_member`: the touch brought them
    in (they join through it)."""
    if current is None or not binding_live(*current, now):
        return new_member or rule.existing_members
    if rule.mode == BindingMode.LAST:
        return True
    if rule.mode == BindingMode.PROTECTED:
        return now >= current[0] + timedelta(days=rule.protect_days)
    return False


def _live(now: datetime) -> Q:
    return (
        Q(replaced_at__isnull=True)
        & Q(started_at__lte=now)
        & (Q(ends_at__isnull=True) | Q(ends_at__gt=now))
    )


# A chain of promoters is walked this far up at most, looking for the member being bound.
_MOST_LEVELS = 100


def _in_upline(member_id: int, promoter_id: int, now: datetime) -> bool:
    """Whether `member_id` is `promoter_id` or one of the promoters above them: binding the
    member to that promoter would make a member their own (indirect) promoter."""
    current = promoter_id
    for _ in range(_MOST_LEVELS):
        if current == member_id:
            return True
        above = (
            PromoterBinding.objects.filter(_live(now), member_id=current)
            .values_list("promoter_id", flat=True)
            .first()
        )
        if above is None:
            return False
        current = above
    return True  # deeper than any real chain: refuse rather than risk a loop


@transaction.atomic
def promoter_bind(
    *,
    member: Member,
    promoter: Member,
    source: str,
    new_member: bool = False,
    rule: BindingRule | None = None,
    now: datetime | None = None,
) -> PromoterBinding | None:
    """Bind `member` to `promoter` if the rule lets this touch bind them: the binding made,
    or the current one if it is already to this promoter; None if the rule keeps the member
    where they are. Refused (BindingRefused) for the member themself or their own downline.
    Whether `promoter` may promote is the caller's to check (apps.referrals)."""
    now = now or timezone.now()
    rule = rule or binding_rule()
    # both members, in key order: two members binding to each other at once wait in turn
    list(
        Member.objects.select_for_update()
        .filter(pk__in=[member.pk, promoter.pk])
        .order_by("pk")
        .values_list("pk")
    )
    if _in_upline(member.pk, promoter.pk, now):
        raise BindingRefused()
    current = PromoterBinding.objects.filter(member=member, replaced_at__isnull=True).first()
    if (
        current is not None
        and current.promoter_id == promoter.pk
        and binding_live(current.started_at, current.ends_at, now)
    ):
        return current
    window = (current.started_at, current.ends_at) if current is not None else None
    if not binding_allowed(rule, current=window, now=now, new_member=new_member):
        return None
    if current is not None:
        PromoterBinding.objects.filter(pk=current.pk).update(replaced_at=now)
    return PromoterBinding.objects.create(
        member=member, promoter=promoter, source=source, started_at=now, ends_at=rule.ends_at(now)
    )


def promoters_for(member: Member | None, now: datetime) -> tuple[int | None, int | None]:
    """The promoter an order placed now by `member` credits, and theirs (the second level):
    ids, from the bindings live now, in one query. (None, None) without a member or a live
    binding; an expired binding credits no one."""
    if member is None:
        return None, None
    upline = PromoterBinding.objects.filter(_live(now), member=OuterRef("promoter")).values(
        "promoter"
    )[:1]
    row = (
        PromoterBinding.objects.filter(_live(now), member=member)
        .annotate(second=Subquery(upline))
        .values_list("promoter", "second")
        .first()
    )
    return row or (None, None)
