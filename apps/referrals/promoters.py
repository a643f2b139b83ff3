"""Who may promote (推广员): members apply; HQ's setting says whether they are approved at
once, need HQ's approval, or qualify by what they have spent. HQ approves, refuses,
suspends and reinstates them, each audited."""

from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from apps.core.audit import audit_record
from apps.members.attribution import promoter_bind
from apps.members.errors import BindingRefused
from apps.members.models import Member, PromoterBinding
from apps.members.selectors import member_by_referral_code
from apps.orders.models import Order
from apps.referrals.errors import (
    AlreadyPromoter,
    PromoterNotDecidable,
    PromoterNotEligible,
    UnknownPromoterCode,
)
from apps.referrals.models import Promoter

Status = Promoter.Status


def member_spent(member: Member) -> Decimal:
    """What the member has paid on their orders, less what was refunded."""
    total = Order.objects.filter(member=member, paid_at__isnull=False).aggregate(
        spent=Sum(F("paid_amount") - F("refunded_amount"))
    )["spent"]
    return total or Decimal(0)


def _enrolment_status(member: Member) -> str:
    enrolment = settings.PROMOTER_ENROLMENT
    if enrolment == "everyone":
        return Status.APPROVED
    if enrolment == "spend":
        spent = member_spent(member)
        if spent < settings.PROMOTER_SPEND_THRESHOLD:
            raise PromoterNotEligible(threshold=settings.PROMOTER_SPEND_THRESHOLD, spent=spent)
        return Status.APPROVED
    return Status.APPLIED


@transaction.atomic
def promoter_apply(*, member: Member, store=None) -> Promoter:
    """A member asks to promote: approved at once or waiting for HQ, by PROMOTER_ENROLMENT.
    One refused may ask again; one applied, approved or suspended may not."""
    existing = Promoter.objects.select_for_update().filter(member=member).first()
    if existing is not None and existing.status != Status.REFUSED:
        raise AlreadyPromoter(status=existing.get_status_display())
    status = _enrolment_status(member)
    decided_at = timezone.now() if status == Status.APPROVED else None
    if existing is not None:
        Promoter.objects.filter(pk=existing.pk).update(
            status=status, decided_at=decided_at, decided_by=None, reason="", store=store
        )
        existing.refresh_from_db()
        return existing
    try:
        with transaction.atomic():
            return Promoter.objects.create(
                member=member, status=status, store=store, decided_at=decided_at
            )
    except IntegrityError:  # the same member applying twice at once
        raise AlreadyPromoter(status=Status.APPLIED.label) from None


# What each decision may follow, and the status it leaves.
_DECISIONS = {
    "approve": ({Status.APPLIED}, Status.APPROVED),
    "refuse": ({Status.APPLIED}, Status.REFUSED),
    "suspend": ({Status.APPROVED}, Status.SUSPENDED),
    "reinstate": ({Status.SUSPENDED}, Status.APPROVED),
}


@transaction.atomic
def promoter_decide(*, promoter: Promoter, decision: str, actor, reason: str = "") -> Promoter:
    """HQ approves or refuses an application, suspends or reinstates a promoter; audited. A
    suspended promoter earns no new commissions; what they earned stays theirs."""
    allowed_from, status = _DECISIONS[decision]
    promoter = Promoter.objects.select_for_update().get(pk=promoter.pk)
    if promoter.status not in allowed_from:
        raise PromoterNotDecidable(status=promoter.get_status_display())
    before = promoter.status
    promoter.status, promoter.decided_by, promoter.decided_at = status, actor, timezone.now()
    promoter.reason = reason[:200]
    promoter.save(update_fields=["status", "decided_by", "decided_at", "reason", "updated_at"])
    audit_record(
        actor=actor,
        action=f"promoter.{decision}",
        target=promoter,
        before={"status": before},
        after={"status": status},
        reason=reason,
    )
    return promoter


def promoter_touch(
    *, member: Member, code: str, source: str, new_member: bool, now=None
) -> PromoterBinding | None:
    """A member came through a promoter's link or poster (their code): bound to them if the
    code is an approved promoter's and HQ's binding rule lets this touch bind. A code that
    is no promoter's, or the member's own or their downline's, binds no one, quietly: the
    member's sign-in or order goes on."""
    promoter = approved_promoter_member(code)
    if promoter is None:
        return None
    return _bind_unless_own(member, promoter, source=source, new_member=new_member, now=now)


def _bind_unless_own(member: Member, promoter: Member, **touch) -> PromoterBinding | None:
    try:
        return promoter_bind(member=member, promoter=promoter, **touch)
    except BindingRefused:
        return None


def approved_promoter_member(code: str) -> Member | None:
    """The member whose promoter code this is, if they are an approved promoter."""
    promoter = member_by_referral_code(code)
    if (
        promoter is None
        or not Promoter.objects.filter(member=promoter, status=Status.APPROVED).exists()
    ):
        return None
    return promoter


def promoter_code_bind(*, member: Member, code: str, now=None) -> PromoterBinding | None:
    """An order placed with a promoter's code (the link it came through): the member is
    bound by HQ's rule before the order records whom it credits. A code that is no approved
    promoter's is refused (UnknownPromoterCode) and changes nothing; the member's own code
    or their downline's binds no one, quietly, as at sign-in."""
    promoter = approved_promoter_member(code)
    if promoter is None:
        raise UnknownPromoterCode(code=code)
    return _bind_unless_own(
        member, promoter, source=PromoterBinding.Source.LINK, new_member=False, now=now
    )
