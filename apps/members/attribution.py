"""Attribution (DESIGN.md): which promoter, home store and guide a member is bound to, by the
one rule HQ sets, each kind with its own settings, and whom an order placed now credits. The
rule is a pure function (`binding_allowed`); a promoter binding is written by
`promoter_bind`, never to the member themself nor to one of their own downline; a home store
and guide by `store_bind`; `promoters_for` is what an order records when it is placed."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.rows import column, database_for_read, table
from apps.members.errors import BindingRefused
from apps.members.models import Member, PromoterBinding, StoreBinding
from apps.stores.models import Staff, Store


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


class BindingKind:
    PROMOTER = "PROMOTER"
    GUIDE = "GUIDE"
    HOME_STORE = "HOME_STORE"


def binding_rule(kind: str = BindingKind.PROMOTER) -> BindingRule:
    """HQ's rule for one kind of binding, from its settings (PROMOTER_BINDING…,
    GUIDE_BINDING…, HOME_STORE_BINDING…). A home store never ends."""
    return BindingRule(
        mode=getattr(settings, f"{kind}_BINDING"),
        protect_days=getattr(settings, f"{kind}_PROTECT_DAYS"),
        binding_days=getattr(settings, f"{kind}_BINDING_DAYS", 0),
        existing_members=getattr(settings, f"{kind}_BIND_EXISTING"),
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


def _binding_live(alias: str) -> str:
    """`_live` by hand, for the binding `alias`, with `now` as its two parameters."""
    return (
        f"{alias}.{column(PromoterBinding, 'replaced_at')} IS NULL "
        f"AND {alias}.{column(PromoterBinding, 'started_at')} <= %s "
        f"AND ({alias}.{column(PromoterBinding, 'ends_at')} IS NULL "
        f"OR {alias}.{column(PromoterBinding, 'ends_at')} > %s)"
    )


# A member has at most one binding not replaced (binding_one_current_per_member).
_PROMOTERS_SQL = (
    f"SELECT b.{column(PromoterBinding, 'promoter')}, "
    f"(SELECT u.{column(PromoterBinding, 'promoter')} FROM {table(PromoterBinding)} u "
    f"WHERE u.{column(PromoterBinding, 'member')} = b.{column(PromoterBinding, 'promoter')} "
    f"AND {_binding_live('u')}) "
    f"FROM {table(PromoterBinding)} b WHERE b.{column(PromoterBinding, 'member')} = %s "
    f"AND {_binding_live('b')}"
)


def promoters_for(member: Member | None, now: datetime) -> tuple[int | None, int | None]:
    """The promoter an order placed now by `member` credits, and theirs (the second level):
    ids, from the bindings live now, in one statement written by hand (every sale to a
    member asks). (None, None) without a member or a live binding; an expired binding
    credits no one."""
    if member is None:
        return None, None
    database = connections[database_for_read(PromoterBinding)]
    at = database.ops.adapt_datetimefield_value(now)
    with database.cursor() as cursor:
        cursor.execute(_PROMOTERS_SQL, [at, at, member.pk, at, at])
        row = cursor.fetchone()
    return tuple(row) if row else (None, None)


def _store_rebind(
    member: Member, kind: str, current: StoreBinding | None, *, now, new_member, **target
) -> bool:
    """Whether the rule of `kind` moves the member from `current` to `target` (a store,
    and a guide for a guide binding): recorded if so. A member bound before bindings were
    recorded counts as bound for good since they joined."""
    rule = binding_rule(kind)
    held = member.home_store_id if kind == BindingKind.HOME_STORE else member.guide_id
    wanted = target["store"].pk if kind == BindingKind.HOME_STORE else target["guide"].pk
    window = (current.started_at, current.ends_at) if current else None
    if window is None and held is not None:
        window = (member.joined_at, None)
    if held == wanted and (window is None or binding_live(*window, now)):
        return False
    if not binding_allowed(rule, current=window, now=now, new_member=new_member):
        return False
    if current is not None:
        StoreBinding.objects.filter(pk=current.pk).update(replaced_at=now)
    StoreBinding.objects.create(
        member=member,
        kind=StoreBinding.Kind(kind.lower()),
        source=target.pop("source"),
        started_at=now,
        ends_at=rule.ends_at(now),
        **target,
    )
    return True


@transaction.atomic
def store_bind(
    *,
    member: Member,
    store: Store,
    guide: Staff | None = None,
    new_member: bool = False,
    now: datetime | None = None,
) -> Member:
    """A member came through a store's QR code or a guide's code: bound to the store as
    their home store, and to the guide, each if its rule lets this touch bind them (by
    default the first touch binds for good: a later scan never moves them). A guide binds
    only members whose home store is the guide's. `guide` must serve `store` (the caller's
    to check, `guide_for`)."""
    now = now or timezone.now()
    member = Member.objects.select_for_update().get(pk=member.pk)
    source = PromoterBinding.Source.GUIDE_CODE if guide else PromoterBinding.Source.STORE_QR
    current = {
        binding.kind: binding
        for binding in StoreBinding.objects.filter(member=member, replaced_at__isnull=True)
    }
    changes = {}
    if _store_rebind(
        member,
        BindingKind.HOME_STORE,
        current.get(StoreBinding.Kind.HOME_STORE),
        now=now,
        new_member=new_member,
        store=store,
        source=source,
    ):
        changes["home_store"] = member.home_store = store
    if (
        guide is not None
        and member.home_store_id == store.pk
        and _store_rebind(
            member,
            BindingKind.GUIDE,
            current.get(StoreBinding.Kind.GUIDE),
            now=now,
            new_member=new_member,
            store=store,
            guide=guide,
            source=source,
        )
    ):
        changes["guide"] = member.guide = guide
    if changes:
        Member.objects.filter(pk=member.pk).update(**changes)
    return member


def store_bindings_record(member: Member) -> None:
    """The home store and guide a member was made with (the touch that brought them in),
    recorded as their first bindings: one query."""
    source = (
        PromoterBinding.Source.GUIDE_CODE if member.guide_id else PromoterBinding.Source.STORE_QR
    )
    kinds = [(BindingKind.HOME_STORE, None), (BindingKind.GUIDE, member.guide_id)]
    StoreBinding.objects.bulk_create(
        StoreBinding(
            member=member,
            kind=StoreBinding.Kind(kind.lower()),
            store_id=member.home_store_id,
            guide_id=guide,
            source=source,
            started_at=member.joined_at,
            ends_at=binding_rule(kind).ends_at(member.joined_at),
        )
        for kind, guide in kinds
        if member.home_store_id and (kind == BindingKind.HOME_STORE or guide)
    )


def attribution_merge(*, survivor: Member, merged: Member, now: datetime) -> None:
    """Two members merged: the members bound to the merged one as their promoter are bound
    to the survivor (unless that would bind the survivor to itself: that binding ends), and
    the merged one's own bindings move to the survivor where it has none of that kind
    (theirs are kept otherwise: the survivor's first touch stands). A binding of the
    survivor that now runs through their own downline ends too. Within the merge's
    transaction, the two members locked."""
    PromoterBinding.objects.filter(
        promoter=merged, member=survivor, replaced_at__isnull=True
    ).update(replaced_at=now)
    PromoterBinding.objects.filter(promoter=merged).exclude(member=survivor).update(
        promoter=survivor
    )
    own = PromoterBinding.objects.filter(member=merged, replaced_at__isnull=True).first()
    if own is not None and own.promoter_id != survivor.pk:
        if not PromoterBinding.objects.filter(member=survivor, replaced_at__isnull=True).exists():
            PromoterBinding.objects.filter(pk=own.pk).update(member=survivor)
        else:
            PromoterBinding.objects.filter(pk=own.pk).update(replaced_at=now)
    elif own is not None:
        PromoterBinding.objects.filter(pk=own.pk).update(replaced_at=now)
    PromoterBinding.objects.filter(member=merged).update(member=survivor)
    kept = PromoterBinding.objects.filter(member=survivor, replaced_at__isnull=True).first()
    if kept is not None and _in_upline(survivor.pk, kept.promoter_id, now):
        # the survivor's promoter was the merged one's downline: never one's own promoter
        PromoterBinding.objects.filter(pk=kept.pk).update(replaced_at=now)
    held = StoreBinding.objects.filter(member=survivor, replaced_at__isnull=True).values("kind")
    StoreBinding.objects.filter(member=merged, replaced_at__isnull=True, kind__in=held).update(
        replaced_at=now
    )
    StoreBinding.objects.filter(member=merged).update(member=survivor)
