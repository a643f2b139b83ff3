"""Points moved by hand in the HQ console: adjustments and voids (DESIGN.md, Trust between
HQ, franchise stores and members).

Each is a ManualAction. Within the requester's daily cap (ManualActionCap of their roles,
else POINTS_MANUAL_DAILY_CAP) it moves at once; above it, it waits, and nothing moves until
a different person with `points.approve_manualaction` approves it. Asking, approving and
rejecting are audited. The ledger entry is written under the action's key, so an action
moves its points at most once, however often or concurrently it is approved.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max, Sum
from django.db.models.functions import Abs
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.errors import PermissionDenied
from apps.members.models import Member
from apps.points.errors import AlreadyDecided, ApprovalBySelf, NotReversible
from apps.points.models import Entry, ManualAction, ManualActionCap
from apps.points.services import points_adjust, points_reverse

APPROVE_PERMISSION = "points.approve_manualaction"
REQUEST_PERMISSION = "points.adjust_points"


def manual_cap(user) -> int:
    """The points `user` may move by hand a day without approval."""
    cap = ManualActionCap.objects.filter(group__user=user).aggregate(cap=Max("daily_points"))
    return settings.POINTS_MANUAL_DAILY_CAP if cap["cap"] is None else cap["cap"]


def manual_used_today(user, *, now=None) -> int:
    """Points `user` moved by hand today without approval (added, taken and voided)."""
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    used = ManualAction.objects.filter(
        requested_by=user, status=ManualAction.Status.APPLIED, requested_at__gte=midnight
    ).aggregate(points=Sum(Abs("points"), default=0))
    return used["points"]


def manual_adjust_request(
    *, member: Member, points: int, reason: str, actor, key: str
) -> ManualAction:
    """Add (points > 0) or take (points < 0) a member's points by hand."""
    if points == 0:
        raise ValueError("an adjustment moves some points")
    return _request(
        kind=ManualAction.Kind.ADJUST,
        member=member,
        points=points,
        reason=reason,
        actor=actor,
        key=key,
    )


def manual_void_request(*, entry: Entry, reason: str, actor, key: str) -> ManualAction:
    """Void what is left of an earn (the member loses it) or a redemption (they get it back)."""
    if entry.kind not in (Entry.Kind.EARN, Entry.Kind.REDEEM) or entry.member_id is None:
        raise NotReversible()
    reversed_ = entry.reversals.aggregate(total=Sum("amount", default=0))["total"]
    left = entry.amount - reversed_
    if left <= 0:
        raise NotReversible()
    return _request(
        kind=ManualAction.Kind.VOID,
        member=entry.member,
        points=-left if entry.kind == Entry.Kind.EARN else left,
        reason=reason,
        actor=actor,
        key=key,
        voids=entry,
    )


def _request(*, kind, member, points, reason, actor, key, voids=None) -> ManualAction:
    if not actor.has_perm(REQUEST_PERMISSION):
        raise PermissionDenied()
    if (existing := ManualAction.objects.filter(key=key).first()) is not None:
        return existing  # the same form sent twice
    try:
        with transaction.atomic():
            # One request of a person at a time: the day's total is read, then added to.
            get_user_model().objects.select_for_update().filter(pk=actor.pk).first()
            if (existing := ManualAction.objects.filter(key=key).first()) is not None:
                return existing
            within_cap = manual_used_today(actor) + abs(points) <= manual_cap(actor)
            action = ManualAction.objects.create(
                kind=kind,
                status=ManualAction.Status.APPLIED if within_cap else ManualAction.Status.PENDING,
                member=member,
                store_id=member.home_store_id,
                points=points,
                voids=voids,
                reason=reason,
                key=key,
                requested_by=actor,
            )
            if within_cap:
                action.entry = _apply(action)
                action.save(update_fields=["entry"])
            else:
                audit_record(
                    actor=actor,
                    action="points.manual.request",
                    target=action,
                    after={"kind": kind, "member": member.pk, "points": points},
                    reason=reason,
                )
            return action
    except IntegrityError:
        return ManualAction.objects.get(key=key)


def _apply(action: ManualAction) -> Entry | None:
    """Move the action's points in the ledger, under its key, as its requester's."""
    if action.kind == ManualAction.Kind.ADJUST:
        return points_adjust(
            member=action.member,
            amount=action.points,
            reason=action.reason,
            actor=action.requested_by,
            key=action.key,
        )
    back, _short = points_reverse(
        entry=action.voids,
        cause_kind=Entry.CauseKind.ADMIN,
        key=action.key,
        description=f"作废：{action.reason}",
        amount=abs(action.points),
        actor=action.requested_by,
    )
    audit_record(
        actor=action.requested_by,
        action="points.void",
        target=action.member,
        after={"entry": action.voids_id, "points": action.points},
        reason=action.reason,
    )
    return back


def manual_action_approve(*, action: ManualAction, actor) -> ManualAction:
    """A second person lets a request above the cap move. Approving again changes nothing."""
    return _decide(action, actor, approve=True)


def manual_action_reject(*, action: ManualAction, actor) -> ManualAction:
    """A second person turns a request down: nothing moves."""
    return _decide(action, actor, approve=False)


@transaction.atomic
def _decide(action: ManualAction, actor, *, approve: bool) -> ManualAction:
    if not actor.has_perm(APPROVE_PERMISSION):
        raise PermissionDenied()
    action = ManualAction.objects.select_for_update().get(pk=action.pk)
    wanted = ManualAction.Status.APPROVED if approve else ManualAction.Status.REJECTED
    if action.status == wanted:
        return action  # decided the same way already (pressed twice, or by a colleague)
    if action.status != ManualAction.Status.PENDING:
        raise AlreadyDecided(status=action.get_status_display())
    if action.requested_by_id == actor.pk:
        raise ApprovalBySelf()
    if approve:
        action.entry = _apply(action)
    action.status, action.decided_by, action.decided_at = wanted, actor, timezone.now()
    action.save(update_fields=["status", "decided_by", "decided_at", "entry"])
    audit_record(
        actor=actor,
        action="points.manual.approve" if approve else "points.manual.reject",
        target=action,
        after={"kind": action.kind, "member": action.member_id, "points": action.points},
        reason=action.reason,
    )
    return action
