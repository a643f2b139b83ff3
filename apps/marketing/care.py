"""Member care by stores (会员关怀): HQ's care tasks become each store's list of calls for
the day, of its own members; the store's people call them (the number shown only through an
audited reveal) and mark each call done with its outcome; HQ and dealers see how much of
each store's list was done."""

from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from apps.core.audit import audit_record
from apps.marketing.errors import CareCallNotOpen, CareNotAtStore, CareOutcomeInvalid
from apps.marketing.models import CareCall, CareTask
from apps.members.models import Member
from apps.members.segments import not_seen_since
from apps.stores.models import Store
from apps.stores.scoping import works_till

BATCH = 2000
# A member comes up again for the same birthday task only the next year.
BIRTHDAY_AGAIN_DAYS = 300


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _birthdays_in_week(today: date) -> Q:
    monday = today - timedelta(days=today.weekday())
    days = [monday + timedelta(days=n) for n in range(7)]
    found = Q()
    for day in days:
        found |= Q(birthday__month=day.month, birthday__day=day.day)
    return found


def care_task_members(task: CareTask, today: date) -> QuerySet[Member]:
    """The members `task` asks their home stores to call today: active, with a home store
    that is open, whom the task's kind picks, and not called for it recently."""
    members = Member.objects.filter(
        status=Member.Status.ACTIVE,
        home_store__status=Store.Status.OPEN,
    )
    if task.kind == CareTask.Kind.DORMANT:
        members = members.filter(not_seen_since(_midnight(today - timedelta(days=task.days))))
        again = task.days
    elif task.kind == CareTask.Kind.BIRTHDAY_WEEK:
        members = members.filter(_birthdays_in_week(today))
        again = BIRTHDAY_AGAIN_DAYS
    else:
        members = members.filter(joined_at__gte=_midnight(today - timedelta(days=task.days)))
        again = task.days + 1
    recent = CareCall.objects.filter(
        task=task, member=OuterRef("pk"), day__gt=today - timedelta(days=again)
    )
    return members.filter(~Exists(recent))


def care_lists_make(*, today: date | None = None) -> int:
    """Today's care lists for every store, from every active task: batched inserts, each
    call once per task, member and day, so a rerun (after a crash too) adds only what is
    missing. Returns how many calls were added."""
    today = today or timezone.localdate()
    added = 0
    for task in CareTask.objects.filter(active=True).order_by("pk"):
        rows = care_task_members(task, today).values_list("pk", "home_store_id").order_by("pk")
        batch = []
        for member_id, store_id in rows.iterator(chunk_size=BATCH):
            batch.append(CareCall(task=task, store_id=store_id, member_id=member_id, day=today))
            if len(batch) == BATCH:
                added += len(CareCall.objects.bulk_create(batch, ignore_conflicts=True))
                batch = []
        if batch:
            added += len(CareCall.objects.bulk_create(batch, ignore_conflicts=True))
    return added


def store_care_list(store: Store, today: date | None = None) -> QuerySet[CareCall]:
    """The store's calls for today, open ones first."""
    today = today or timezone.localdate()
    return (
        CareCall.objects.filter(store=store, day=today, member__home_store=store)
        .select_related("task", "member", "done_by")
        .order_by("done_at", "task_id", "member_id")
    )


def store_care_call(store: Store, call_id: int, today: date | None = None) -> CareCall | None:
    return store_care_list(store, today).filter(pk=call_id).first()


def care_call_phone_reveal(*, call: CareCall, actor, ip: str | None = None) -> str:
    """The number of a member on today's list, for the store's own people to call: audited
    as every reveal of a number is (apps.members.services.member_phone_reveal)."""
    if not works_till(actor, call.store):
        raise CareNotAtStore()
    audit_record(
        actor=actor,
        action="member.phone_reveal",
        target=call.member,
        reason=f"care call {call.pk}",
        ip=ip,
    )
    return call.member.phone


@transaction.atomic
def care_call_done(*, call: CareCall, actor, outcome: str, note: str = "") -> CareCall:
    """Marks a call of today's list done. Sent again (a retried tap), it changes nothing."""
    if not works_till(actor, call.store):
        raise CareNotAtStore()
    if outcome not in CareCall.Outcome.values or not outcome:
        raise CareOutcomeInvalid()
    call = CareCall.objects.select_for_update().get(pk=call.pk)
    if call.day != timezone.localdate():
        raise CareCallNotOpen()
    if call.done_at is not None:
        return call
    call.outcome = outcome
    call.note = note[:200]
    call.done_at = timezone.now()
    call.done_by = actor
    call.save(update_fields=["outcome", "note", "done_at", "done_by"])
    return call


def care_completion(stores: QuerySet[Store], *, first: date, last: date) -> QuerySet[Store]:
    """Each store's calls from `first` to `last` (both included) and how many were done."""
    in_period = Q(care_calls__day__gte=first, care_calls__day__lte=last)
    return (
        stores.filter(in_period)
        .annotate(
            calls=Count("care_calls", filter=in_period),
            done=Count("care_calls", filter=in_period & Q(care_calls__done_at__isnull=False)),
        )
        .order_by("code")
    )
