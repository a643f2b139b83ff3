from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.events import event_emit
from apps.members.errors import BirthdayAlreadySet, BirthdayInFuture, MemberFrozen
from apps.members.models import Member, MemberIdentity, StoreVisit
from apps.stores.models import Staff, Store


def member_join_or_find(
    *,
    phone: str,
    source: str,
    store: Store | None = None,
    guide: Staff | None = None,
    referrer: Member | None = None,
) -> tuple[Member, bool]:
    """The member with this phone, made now if there is none (开卡). True when made now.

    Home store, guide and referrer are set only when the member is made: a member who
    signs in again through another store's code stays with the store that recruited them.
    Two first sign-ins of one phone at once make one member (the phone is unique).
    """
    member = Member.objects.filter(phone=phone).first()
    if member is None:
        try:
            with transaction.atomic():
                member = Member.objects.create(
                    phone=phone,
                    source=source,
                    home_store=store or (guide.store if guide else None),
                    guide=guide,
                    referrer=referrer,
                )
                event_emit(name="member_joined", payload={"member": member.pk, "source": source})
                if member.home_store_id:
                    StoreVisit.objects.create(
                        member=member, store_id=member.home_store_id, guide=guide
                    )
            return member, True
        except IntegrityError:
            member = Member.objects.get(phone=phone)
    if member.status == Member.Status.FROZEN:
        raise MemberFrozen()
    return member, False


def member_touch(*, member: Member) -> None:
    Member.objects.filter(pk=member.pk).update(last_active_at=timezone.now())


@transaction.atomic
def member_identity_link(*, member: Member, kind: str, value: str) -> MemberIdentity:
    """Point a channel id at this member. An id already pointing at someone else stays theirs."""
    identity, _created = MemberIdentity.objects.get_or_create(
        kind=kind, value=value, defaults={"member": member}
    )
    return identity


def member_find_by_identity(*, kind: str, value: str) -> Member | None:
    identity = (
        MemberIdentity.objects.select_related("member").filter(kind=kind, value=value).first()
    )
    return identity.member if identity else None


@transaction.atomic
def member_store_join(*, member: Member, store: Store, guide: Staff | None = None) -> Member:
    """A member scanned a store's code: a visit, and a home store only if they had none."""
    StoreVisit.objects.create(member=member, store=store, guide=guide)
    Member.objects.filter(pk=member.pk, home_store__isnull=True).update(
        home_store=store, guide=guide if guide and guide.store_id == store.pk else None
    )
    member.refresh_from_db(fields=["home_store", "guide"])
    return member


@transaction.atomic
def member_profile_update(
    *,
    member: Member,
    name: str | None = None,
    gender: str | None = None,
    birthday: date | None = None,
) -> Member:
    """What a member may change themselves. The birthday can be set once (it earns a gift)."""
    changes = {}
    if name is not None:
        changes["name"] = name.strip()
    if gender is not None:
        changes["gender"] = gender
    if changes:
        Member.objects.filter(pk=member.pk).update(**changes)
    if birthday is not None and birthday != member.birthday:
        if birthday > timezone.localdate():
            raise BirthdayInFuture()
        if not Member.objects.filter(pk=member.pk, birthday__isnull=True).update(birthday=birthday):
            raise BirthdayAlreadySet()
    member.refresh_from_db()
    return member


@transaction.atomic
def member_birthday_correct(*, member: Member, birthday: date, actor, reason: str) -> Member:
    """Customer service corrects a birthday the member set wrongly; audited."""
    if birthday > timezone.localdate():
        raise BirthdayInFuture()
    before = member.birthday
    Member.objects.filter(pk=member.pk).update(birthday=birthday)
    member.refresh_from_db(fields=["birthday"])
    audit_record(
        actor=actor,
        action="member.birthday_correct",
        target=member,
        before={"birthday": before},
        after={"birthday": birthday},
        reason=reason,
    )
    return member
