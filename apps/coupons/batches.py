"""发券: HQ issues a template to a segment or a phone list, as a Celery job that can stop
and start again anywhere. Each chunk is one transaction that locks the batch row, issues,
and moves the batch's cursor; a coupon of a batch is unique by (batch, member issued to), so
no member gets two from one batch however often a chunk runs."""

from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.phones import InvalidPhone, mask_phone, normalize_phone
from apps.core.queue import alone, enqueue
from apps.coupons.errors import BatchNotReady
from apps.coupons.issuing import coupon_build, stock_take, templates_for
from apps.coupons.models import Coupon, CouponTemplate, IssueBatch
from apps.members.models import Member
from apps.members.returning import phone_hash
from apps.members.segments import SegmentCriteria, born_on, member_ids_after, segment_members
from apps.tiers.segments import members_in_tiers

CHUNK = 1000


def batch_phones(batch: IssueBatch) -> tuple[list[str], int]:
    """The batch's valid phone numbers, normalised, each once, in a stable order; and how
    many lines were not a mainland mobile number."""
    phones, invalid = set(), 0
    for line in filter(str.strip, batch.phones.splitlines()):
        try:
            phones.add(normalize_phone(line.split(",")[0].strip()))
        except InvalidPhone:
            invalid += 1
    return sorted(phones), invalid


@transaction.atomic
def issue_batch_start(*, batch: IssueBatch, actor=None) -> IssueBatch:
    """Count the targets and hand the batch to the worker (on commit)."""
    from apps.coupons.tasks import issue_batch_run_task

    batch = IssueBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != IssueBatch.Status.DRAFT:
        return batch
    if batch.segment_id:
        targets, invalid = segment_members(SegmentCriteria.of(batch.segment)).count(), 0
    else:
        phones, invalid = batch_phones(batch)
        targets = len(phones)
    if not targets:
        raise BatchNotReady()
    IssueBatch.objects.filter(pk=batch.pk).update(
        status=IssueBatch.Status.RUNNING,
        targeted=targets,
        unknown=invalid,
        started_at=timezone.now(),
    )
    transaction.on_commit(lambda: enqueue(issue_batch_run_task, batch.pk))
    batch.refresh_from_db()
    return batch


def issue_batch_run(*, batch_id: int, chunks: int | None = None) -> IssueBatch:
    """Issue chunk after chunk until the targets or the stock run out (or `chunks` ran). A
    run started while another runs the batch (sent again by `issue_batches_resume`) leaves
    it to that one; were both to run, each chunk would still issue once."""
    with alone("coupons.issuebatch", batch_id) as held:
        done = 0
        while held and (chunks is None or done < chunks):
            if not _issue_chunk(batch_id):
                break
            done += 1
    return IssueBatch.objects.get(pk=batch_id)


def issue_batches_resume(*, now=None) -> int:
    """Send again the batches still running JOBS_RESUME_AFTER_MINUTES after they started:
    their task was lost (the broker was down) or their worker died. Returns how many."""
    from apps.coupons.tasks import issue_batch_run_task

    since = (now or timezone.now()) - timedelta(minutes=settings.JOBS_RESUME_AFTER_MINUTES)
    running = IssueBatch.objects.filter(status=IssueBatch.Status.RUNNING, started_at__lt=since)
    pks = running.order_by("pk").values_list("pk", flat=True)
    return sum(enqueue(issue_batch_run_task, pk) for pk in pks)


@transaction.atomic
def _issue_chunk(batch_id: int) -> bool:
    """One chunk. False when there is nothing more to do."""
    batch = (
        IssueBatch.objects.select_for_update(of=("self",))
        .select_related("template", "segment")
        .get(pk=batch_id)
    )
    if batch.status != IssueBatch.Status.RUNNING:
        return False
    member_ids, unknown, cursor = _next_targets(batch)
    if not member_ids and not unknown:
        _finish(batch, IssueBatch.Status.DONE)
        return False
    had = set(
        Coupon.objects.filter(batch=batch, issued_to__in=member_ids).values_list(
            "issued_to", flat=True
        )
    )
    fresh = [member_id for member_id in member_ids if member_id not in had]
    now = timezone.now()
    granted = (
        stock_take(batch.template, count=len(fresh), store_id=None, now=now, bulk=True)
        if fresh
        else 0
    )
    Coupon.objects.bulk_create(
        coupon_build(
            batch.template,
            member_id,
            source=Coupon.Source.BATCH,
            store_id=None,
            now=now,
            batch_id=batch.pk,
        )
        for member_id in fresh[:granted]
    )
    IssueBatch.objects.filter(pk=batch.pk).update(
        cursor=cursor,
        issued=batch.issued + granted,
        skipped=batch.skipped + len(had),
        unknown=batch.unknown + unknown,
    )
    if granted < len(fresh):
        _finish(batch, IssueBatch.Status.SOLD_OUT)
        return False
    return True


def _next_targets(batch: IssueBatch) -> tuple[list[int], int, int]:
    """(member ids, phones that are no member, new cursor). A segment's cursor is the last
    member id done; a phone list's is how many phones are done."""
    if batch.segment_id:
        ids = member_ids_after(
            segment_members(SegmentCriteria.of(batch.segment)), after=batch.cursor, count=CHUNK
        )
        return ids, 0, ids[-1] if ids else batch.cursor
    phones = batch_phones(batch)[0][batch.cursor : batch.cursor + CHUNK]
    found = dict(
        Member.objects.filter(phone__in=phones, status=Member.Status.ACTIVE).values_list(
            "phone", "pk"
        )
    )
    return (
        [found[p] for p in phones if p in found],
        len(phones) - len(found),
        batch.cursor + len(phones),
    )


def _finish(batch: IssueBatch, status: str) -> None:
    """A finished batch keeps its phone list masked (138****1234): what was done stays
    readable, the numbers need not be kept."""
    IssueBatch.objects.filter(pk=batch.pk).update(
        status=status,
        finished_at=timezone.now(),
        phones=batch_phones_masked(batch),
    )


@transaction.atomic
def issue_batches_forget_phone(*, phone_hash_of: str) -> int:
    """A member closed their account: the batches not started yet mask their number (a
    running batch masks every number when it finishes, and its cursor counts the list's
    numbers, which must not move meanwhile). Returns how many batches changed."""
    changed = 0
    drafts = IssueBatch.objects.select_for_update().filter(status=IssueBatch.Status.DRAFT)
    for batch in drafts.exclude(phones="").order_by("pk"):
        masked = _phones_masked(batch.phones, lambda phone: phone_hash(phone) == phone_hash_of)
        if masked != batch.phones:
            IssueBatch.objects.filter(pk=batch.pk).update(phones=masked)
            changed += 1
    return changed


def batch_phones_masked(batch: IssueBatch) -> str:
    return _phones_masked(batch.phones, lambda phone: True)


def _phones_masked(text: str, which) -> str:
    lines = []
    for line in text.splitlines():
        try:
            phone = normalize_phone(line.split(",")[0].strip())
        except InvalidPhone:
            lines.append(line)
            continue
        lines.append(mask_phone(phone) if which(phone) else line)
    return "\n".join(lines)


def coupons_birthday_issue(*, today: date | None = None) -> int:
    """生日礼: each birthday template to the members born on this day (29 February counts on
    the 28th in other years), in chunks; caused by the year, so a rerun issues nothing twice."""
    today = today or timezone.localdate()
    issued = 0
    for template in templates_for(CouponTemplate.AutoIssue.BIRTHDAY):
        members = Member.objects.filter(born_on(today), status=Member.Status.ACTIVE)
        if tiers := template.eligibility.tiers:
            members = members_in_tiers(members, [tier.code for tier in tiers])
        cursor = 0
        while True:
            with transaction.atomic():
                ids = list(
                    members.filter(pk__gt=cursor)
                    .order_by("pk")
                    .values_list("pk", flat=True)[:CHUNK]
                )
                if not ids:
                    break
                cursor = ids[-1]
                cause = {"cause_kind": Coupon.CauseKind.BIRTHDAY, "cause_id": today.year}
                had = set(
                    Coupon.objects.filter(
                        template=template, issued_to__in=ids, **cause
                    ).values_list("issued_to", flat=True)
                )
                fresh = [m for m in ids if m not in had]
                now = timezone.now()
                granted = stock_take(template, count=len(fresh), store_id=None, now=now, bulk=True)
                Coupon.objects.bulk_create(
                    coupon_build(
                        template,
                        m,
                        source=Coupon.Source.EVENT,
                        store_id=None,
                        now=now,
                        **cause,
                    )
                    for m in fresh[:granted]
                )
                issued += granted
                if granted < len(fresh):
                    break
    return issued
