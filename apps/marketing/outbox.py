"""The outbox of messages to members: queued once per member, template and cause; sent by
a job in batches, under the rules of apps.marketing.rules; every message not sent keeps
its reason.

A message's life: queued → (held for quiet hours, still queued) → sending → sent; or
refused (with its reason), or failed after MESSAGE_MAX_ATTEMPTS tries with backoff. The job
claims due rows with `SELECT … FOR UPDATE SKIP LOCKED`, decides them all and marks those it
will send `sending` in one transaction, then sends them one by one outside it: it notes on
each row that the provider is being asked (`sent_at`), asks, and records the answer, each
its own commit and only on a row still `sending` and still its own. A run that dies
(a worker killed, a host rebooted) leaves its rows `sending`; past
MESSAGE_SEND_LEASE_SECONDS the next run settles them: the one the provider was being asked
for may have gone, so it is marked failed as interrupted rather than sent again; those not
asked yet go back to the queue, to be sent once. A run stops asking once half its lease has
gone (however slow the provider), and a provider down or stalling (PROVIDER_DOWN_AFTER
failures in a row, each within its timeout) ends the run: the messages not asked yet go
back to the queue untouched, so a run never outlasts its lease; and a run records answers
only on rows still its own (claimed at its time), so one that outlived it anyway changes
nothing another run has claimed since. A WeChat
message spends one of the member's subscriptions to its template when it is claimed, and
gives it back if it fails, unless WeChat refused it for want of one (43101): that message
is refused as without a subscription, never tried again. A message sent keeps the
provider's id, which its delivery receipt names (apps.marketing.receipts)."""

import time
from collections import Counter
from collections.abc import Mapping
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, CharField, Count, F, Q, Value, When
from django.db.models.functions import Cast, Coalesce, Concat, JSONObject
from django.utils import timezone

from apps.core.queue import enqueue
from apps.marketing import rules
from apps.marketing.channels import Attempt, Outgoing, channel_on, message_deliver
from apps.marketing.locks import members_lock
from apps.marketing.models import Channel, Message, MessageTemplate, WechatSubscription
from apps.marketing.receipts import receipts_apply
from apps.marketing.selectors import MEMBER_ACTIVE, member_variables, members_for_messages
from apps.members.models import Member, MemberIdentity


def messages_queue(
    *,
    template: MessageTemplate,
    member_ids: list[int],
    cause_kind: str,
    cause_id: int,
    values: Mapping[str, object] | None = None,
) -> None:
    """Queue `template` for each member, once per member, template and cause: queuing again
    (a retried job) adds nothing. `values` are the variables the caller knows (a coupon's
    title, a link) over the members' own (name, tier, points, store). A marketing message to
    a member without consent is recorded refused at once. One INSERT … SELECT over the
    members, each text rendered by the database as `rules.render` would."""
    given = dict(values or {})
    link = str(given.pop("link", "") or template.link)
    now = timezone.now()
    marketing = template.purpose == MessageTemplate.Purpose.MARKETING
    variables = {**member_variables(), **{name: _typed(value) for name, value in given.items()}}
    variables["link"] = _rendered(link, variables)
    status, reason = _decisions(template, marketing)
    columns = {
        "member_id": F("pk"),
        "template_id": _typed(template.pk),
        "channel": _typed(template.channel),
        "marketing": _typed(marketing),
        "cause_kind": _typed(cause_kind),
        "cause_id": _typed(cause_id),
        "title": _rendered(template.title, variables),
        "body": _rendered(template.body, variables),
        "link": variables["link"],
        "values": JSONObject(**variables),
        "status": status,
        "reason": reason,
        "error": _typed(""),
        "attempts": _typed(0),
        "due_at": _typed(now),
        "created_at": _typed(now),
    }
    for field in Message._meta.concrete_fields:  # the rest as Django makes them
        if not field.primary_key and field.attname not in columns and field.name not in columns:
            columns[field.name] = Cast(Value(field.get_default()), field)
    chosen = Member.objects.filter(pk__any=member_ids).order_by("pk")  # ids in their order
    select = chosen.annotate(  # each typed as its column, for a parameter has no type
        **{
            f"c_{name}": Cast(value, Message._meta.get_field(name))
            for name, value in columns.items()
        }
    )
    sql, params = select.values(*(f"c_{name}" for name in columns)).query.sql_with_params()
    names = ", ".join(f'"{Message._meta.get_field(name).column}"' for name in columns)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{Message._meta.db_table}" ({names}) {sql} ON CONFLICT DO NOTHING',
            params,
        )
        transaction.on_commit(_send_soon)


def _typed(value):
    """A value the caller gives, as SQL of its own type."""
    return Cast(Value(value), Value(value).output_field)


def _rendered(text: str, variables: Mapping):
    """SQL for `text` with each variable's value in place (`rules.render`)."""
    parts = [
        _typed(literal)
        if name is None
        else Coalesce(Cast(variables[name], CharField()), _typed(""))
        if name in variables
        else _typed("")
        for literal, name in rules.pieces(text)
    ]
    if not parts:
        return _typed("")
    return parts[0] if len(parts) == 1 else Concat(*parts, output_field=CharField())


def _decisions(template: MessageTemplate, marketing: bool) -> tuple[Case, Case]:
    """SQL for each member's status and reason at queuing: what `rules.message_decision`
    says of a member who is active or not, and agreed to marketing or not."""
    when = {}
    for active in (True, False):
        for consent in (True, False):
            decision, reason = rules.message_decision(
                channel=template.channel,
                channel_on=channel_on(template.channel),
                marketing=marketing,
                active=active,
                consent=consent,
                reachable=True,
                subscribed=True,
                quiet_until=None,
                cap=None,
            )
            refused = decision == "refuse"
            condition = Q(status__in=MEMBER_ACTIVE) if active else ~Q(status__in=MEMBER_ACTIVE)
            when[(active, consent)] = (
                condition & Q(marketing_consent=consent),
                Message.Status.REFUSED if refused else Message.Status.QUEUED,
                reason if refused else "",
            )
    return tuple(
        Case(*(When(c, then=_typed(w[index])) for c, *w in when.values()), output_field=CharField())
        for index in (0, 1)
    )


def _send_soon() -> None:
    from apps.marketing.tasks import messages_send_task

    enqueue(messages_send_task)


PROVIDER_DOWN_AFTER = 3  # a channel's failures in a row that end a run
NOT_TRIED = "not tried: the provider was down"
NOT_ASKED = "not asked: its run stopped"
_clock = time.monotonic  # a run's own time, for its lease (`now` may be any time)


def messages_send_due(*, now=None, batch: int = 500) -> int:
    """Decide and send every message due by `now`, `batch` at a time, each batch claimed
    for a lease of its own and asked for until half of it has gone (what is left is claimed
    again); returns how many were decided (sent, held, refused or tried)."""
    now = now or timezone.now()
    started = _clock()
    _dead_runs_settle(now)
    decided, at = 0, now
    while True:
        claimed, outgoing = _messages_claim(at, batch)
        if not claimed:
            return decided
        decided += claimed
        stop_at = _clock() + settings.MESSAGE_SEND_LEASE_SECONDS / 2
        if _deliver_while_up(outgoing, at, stop_at):
            return decided
        if _clock() >= stop_at:  # a lease of their own for those it did not reach
            at = now + timedelta(seconds=_clock() - started)


def _dead_runs_settle(now) -> None:
    """Messages a run claimed longer than MESSAGE_SEND_LEASE_SECONDS ago and left `sending`:
    that run died. One the provider was asked for may have gone: failed, never sent again.
    The others were not asked: back to the queue, as if never claimed, each by the one run
    that settles it."""
    left = Message.objects.filter(
        status=Message.Status.SENDING,
        claimed_at__lt=now - timedelta(seconds=settings.MESSAGE_SEND_LEASE_SECONDS),
    )
    left.filter(sent_at__isnull=False).update(
        status=Message.Status.FAILED, reason=Message.Reason.INTERRUPTED
    )
    _never_asked_requeue(left.filter(sent_at__isnull=True), now)


@transaction.atomic
def _never_asked_requeue(never_asked, now) -> None:
    """Queue again, due `now`, the messages of `never_asked` (a dead run's, not asked for),
    their claim not counted as a try, and give back the WeChat subscriptions their claim
    spent. The rows are locked as they are chosen: one another run settled or claimed
    meanwhile no longer matches, so each is queued again once and never taken from a
    live run."""
    rows = list(
        never_asked.select_for_update(of=("self",))
        .order_by("pk")
        .values_list("pk", "channel", "member_id", "template__wechat_template_id")
    )
    if not rows:
        return
    Message.objects.filter(pk__any=[pk for pk, *_rest in rows]).update(
        status=Message.Status.QUEUED, due_at=now, attempts=F("attempts") - 1, sent_at=None
    )
    spent = Counter(
        (member_id, template_id)
        for _pk, channel, member_id, template_id in rows
        if channel == Channel.WECHAT
    )
    for (member_id, template_id), count in sorted(spent.items()):
        WechatSubscription.objects.filter(member_id=member_id, template_id=template_id).update(
            remaining=F("remaining") + count
        )


def _deliver_while_up(outgoing: list[Outgoing], now, stop_at: float) -> bool:
    """Send each message this batch claimed (at `now`), its answer recorded at once; True
    when the run must end, a channel found down (its messages not tried yet go back to the
    queue, NOT_TRIED). Once half the lease has gone (`stop_at`), the messages not asked yet
    go back too (NOT_ASKED), for the run's next claim. Only a provider not answering
    counts: an error it answered about one message (a member without a subscription, a
    number it will not text) is the provider up."""
    failures: Counter = Counter()
    put_back, provider_ids = [], []
    late = False
    for message in outgoing:
        if failures[message.channel] >= PROVIDER_DOWN_AFTER:
            put_back.append((message.pk, Attempt(error=NOT_TRIED)))
            continue
        late = late or _clock() >= stop_at
        if late:
            put_back.append((message.pk, Attempt(error=NOT_ASKED)))
            continue
        if not _asking(message.pk, now):
            continue  # settled meanwhile by another run: this one's lease ran out
        attempt = message_deliver(message)
        failed = attempt.error is not None and not attempt.answered
        failures[message.channel] = failures[message.channel] + 1 if failed else 0
        provider_ids += _results_record([(message.pk, attempt)], now)
    _results_record(put_back, now)
    receipts_apply(provider_ids=provider_ids)
    return max(failures.values(), default=0) >= PROVIDER_DOWN_AFTER


def _asking(pk: int, now) -> bool:
    """Note that the provider is being asked for this message, if it is still the message
    this run claimed at `now`: from here on, a run that dies leaves it failed, never sent
    twice. Its `sent_at` stays once it is sent."""
    return bool(
        Message.objects.filter(
            pk=pk, status=Message.Status.SENDING, claimed_at=now, sent_at__isnull=True
        ).update(sent_at=now)
    )


@transaction.atomic
def _messages_claim(now, batch: int) -> tuple[int, list[Outgoing]]:
    """Lock up to `batch` due messages, decide each, write the decisions; the messages to
    send by SMS or WeChat, now marked `sending`, are returned."""
    due = list(
        Message.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=Message.Status.QUEUED, due_at__lte=now)
        .select_related("template")
        .order_by("pk")[:batch]
    )
    if not due:
        return 0, []
    member_ids = sorted({message.member_id for message in due})
    # Another run deciding other messages of these members waits here until it has
    # committed, so that the caps count what it claimed.
    members_lock(member_ids)
    members = members_for_messages(member_ids)
    phones = {pk: member["phone"] for pk, member in members.items()}
    openids = dict(
        MemberIdentity.objects.filter(
            member_id__any=member_ids, kind=MemberIdentity.Kind.WECHAT_OPENID
        ).values_list("member_id", "value")
    )
    sent = _marketing_sent(member_ids, now)
    subscriptions = {
        (s.member_id, s.template_id): s
        for s in WechatSubscription.objects.select_for_update()
        .filter(member_id__any=member_ids, remaining__gt=0)
        .order_by("pk")
    }
    quiet_until = rules.quiet_hours_end(
        timezone.localtime(now), rules.quiet_hours(settings.MESSAGE_QUIET_HOURS)
    )
    limits = rules.caps(settings.MESSAGE_CAPS)
    addresses = {Channel.SMS: phones, Channel.WECHAT: openids}
    refused: dict[str, list[int]] = {}
    held, inbox, sending, outgoing, spent = [], [], [], [], []
    for message in due:
        member = members[message.member_id]
        address = addresses.get(message.channel, {}).get(message.member_id) or ""
        subscription = subscriptions.get((message.member_id, message.template.wechat_template_id))
        counts = sent[message.member_id]
        decision, reason = rules.message_decision(
            channel=message.channel,
            channel_on=channel_on(message.channel),
            marketing=message.marketing,
            active=member["active"],
            consent=member["consent"],
            reachable=message.channel == Channel.INBOX or bool(address),
            subscribed=subscription is not None and subscription.remaining > 0,
            quiet_until=quiet_until,
            cap=rules.cap_reached(message.channel, counts, limits),
        )
        if decision == "refuse":
            refused.setdefault(reason, []).append(message.pk)
            continue
        if decision == "hold":
            held.append(message.pk)
            continue
        if message.marketing:
            for scope in (message.channel, rules.ALL):
                counts[(scope, "day")] += 1
                counts[(scope, "week")] += 1
        if message.channel == Channel.INBOX:
            inbox.append(message.pk)
            continue
        if message.channel == Channel.WECHAT:
            subscription.remaining -= 1
            spent.append(subscription)
        sending.append(message.pk)
        outgoing.append(
            Outgoing(
                pk=message.pk,
                channel=message.channel,
                address=address,
                provider_template=(
                    message.template.wechat_template_id
                    if message.channel == Channel.WECHAT
                    else message.template.sms_template_id
                ),
                template_body=message.template.body,
                wechat_fields=message.template.wechat_fields,
                title=message.title,
                body=message.body,
                link=message.link,
                values=message.values,
            )
        )
    for reason, pks in refused.items():
        Message.objects.filter(pk__any=pks).update(status=Message.Status.REFUSED, reason=reason)
    if held:
        Message.objects.filter(pk__any=held).update(
            due_at=quiet_until, reason=Message.Reason.QUIET_HOURS
        )
    if inbox:
        Message.objects.filter(pk__any=inbox).update(
            status=Message.Status.SENT,
            claimed_at=now,
            sent_at=now,
            attempts=F("attempts") + 1,
            reason="",
        )
    if sending:
        Message.objects.filter(pk__any=sending).update(
            status=Message.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1, reason=""
        )
    if spent:
        WechatSubscription.objects.bulk_update(set(spent), ["remaining"])
    return len(due), outgoing


def _marketing_sent(member_ids: list[int], now) -> dict[int, Counter]:
    """By member: marketing messages sent or being sent, claimed today and in the 7 days
    ending today (local calendar days), by channel and over all channels, as
    rules.cap_reached reads them."""
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    week = today - timedelta(days=6)
    rows = (
        Message.objects.filter(
            member_id__any=member_ids,
            marketing=True,
            status__in=[Message.Status.SENDING, Message.Status.SENT],
            claimed_at__gte=week,
        )
        .values("member_id", "channel")
        .annotate(day=Count("pk", filter=Q(claimed_at__gte=today)), week=Count("pk"))
    )
    sent = {member_id: Counter() for member_id in member_ids}
    for row in rows:
        counts = sent[row["member_id"]]
        for scope in (row["channel"], rules.ALL):
            counts[(scope, "day")] += row["day"]
            counts[(scope, "week")] += row["week"]
    return sent


@transaction.atomic
def _results_record(results: list[tuple[int, Attempt]], now) -> list[str]:
    """Each result of the run that claimed at `now` on its row, if the row is still
    `sending` and still that run's (another run may have settled and claimed it since, had
    this one outlived its lease): sent with the provider's id (returned, for any receipt
    of it that came first), or refused or failed for good, or tried again after a backoff,
    or failed after the last attempt, or failed as interrupted when the provider had it and
    did not answer (it may have gone: never sent again); a WeChat subscription spent on a
    message not sent is returned, unless WeChat said the member had none or may have sent
    it. One NOT_TRIED or NOT_ASKED is
    queued again, its claim not counted as a try."""
    if not results:
        return []
    sent = [
        attempt.provider_id
        for pk, attempt in results
        if attempt.error is None
        and Message.objects.filter(pk=pk, status=Message.Status.SENDING, claimed_at=now).update(
            status=Message.Status.SENT, provider_id=attempt.provider_id
        )
        and attempt.provider_id
    ]
    errors = {pk: attempt for pk, attempt in results if attempt.error is not None}
    if not errors:
        return sent
    failed = list(
        Message.objects.select_for_update(of=("self",))
        .filter(pk__any=sorted(errors), status=Message.Status.SENDING, claimed_at=now)
        .select_related("template")
        .order_by("pk")
    )
    for message in failed:
        attempt = errors[message.pk]
        message.sent_at = None  # not sent: a later run that dies with it in hand must know
        if attempt.refused:
            message.error = attempt.error[:200]
            message.status, message.reason = Message.Status.REFUSED, Message.Reason.NO_SUBSCRIPTION
        elif attempt.interrupted:
            message.error = attempt.error[:200]
            message.status, message.reason = Message.Status.FAILED, Message.Reason.INTERRUPTED
        elif attempt.final:
            message.error = attempt.error[:200]
            message.status, message.reason = Message.Status.FAILED, Message.Reason.PROVIDER
        elif attempt.error == NOT_ASKED:
            message.attempts -= 1
            message.status, message.due_at = Message.Status.QUEUED, now
        elif attempt.error == NOT_TRIED:
            message.attempts -= 1
            message.reason = Message.Reason.PROVIDER
            message.status = Message.Status.QUEUED
            message.due_at = now + rules.retry_delay(1, settings.MESSAGE_RETRY_SECONDS)
        else:
            message.error = attempt.error[:200]
            message.reason = Message.Reason.PROVIDER
            if message.attempts >= settings.MESSAGE_MAX_ATTEMPTS:
                message.status = Message.Status.FAILED
            else:
                message.status = Message.Status.QUEUED
                message.due_at = now + rules.retry_delay(
                    message.attempts, settings.MESSAGE_RETRY_SECONDS
                )
        if message.channel == Channel.WECHAT and not (attempt.refused or attempt.interrupted):
            WechatSubscription.objects.filter(
                member_id=message.member_id, template_id=message.template.wechat_template_id
            ).update(remaining=F("remaining") + 1)
    Message.objects.bulk_update(
        failed, ["error", "reason", "status", "due_at", "attempts", "sent_at"]
    )
    return sent
