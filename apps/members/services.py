from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.audit import audit_record, snapshot
from apps.core.events import event_emit
from apps.members.attribution import attribution_merge, store_bind, store_bindings_record
from apps.members.credentials import member_tokens_revoke_all
from apps.members.errors import (
    BirthdayAlreadySet,
    BirthdayInFuture,
    MemberFrozen,
    MergeRefused,
    PhoneRevealRefused,
    TagNameInvalid,
    TagOutOfScope,
    WechatAccountTaken,
)
from apps.members.guides import guide_for
from apps.members.models import Member, MemberIdentity, MemberTag, StoreVisit, Tag
from apps.members.privacy import member_traces_erase
from apps.members.returning import phone_deleted_record, phone_hash, phone_returning
from apps.members.wechat import wechat_provider
from apps.stores.models import Staff, Store
from apps.stores.rules import store_open_check
from apps.stores.scoping import access_scope, store_roles


def member_join_or_find(
    *,
    phone: str,
    source: str,
    store: Store | None = None,
    guide: Staff | None = None,
    referrer: Member | None = None,
    requester: str = "",
    device: str = "",
) -> tuple[Member, bool]:
    """The member with this phone, made now if there is none (开卡). True when made now.

    Home store, guide and referrer are set only when the member is made: a member who
    signs in again through another store's code stays with the store that recruited them.
    Two first sign-ins of one phone at once make one member (the phone is unique).
    A closed or suspended store (or its guide) recruits no one; its code does not stop a
    member who has joined already from signing in. A referred member's event carries where
    they signed up from (`requester`, `device`), which referrals check for farming.
    """
    member = Member.objects.filter(phone=phone).first()
    if member is None:
        home_store = store or (guide.store if guide else None)
        if home_store:
            store_open_check(home_store)
        guide = guide_for(home_store, guide)
        try:
            with transaction.atomic():
                member = Member.objects.create(
                    phone=phone,
                    source=source,
                    home_store=home_store,
                    guide=guide,
                    referrer=referrer,
                    returning=phone_returning(phone),
                )
                payload = {"member": member.pk, "source": source, "referrer": member.referrer_id}
                if referrer is not None:
                    payload.update(requester=requester, device=device)
                event_emit(name="member_joined", payload=payload)
                if member.home_store_id:
                    StoreVisit.objects.create(
                        member=member, store_id=member.home_store_id, guide=guide
                    )
                    store_bindings_record(member)
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


def member_wechat_oa_bind(*, member: Member, code: str) -> MemberIdentity:
    """The member's openid under the brand's official account, from the `code` of WeChat's
    web OAuth (WeChat is asked before any transaction opens), to pay with WeChat Pay in
    WeChat's browser. Binding it again is a no-op; one bound to someone else is refused."""
    openid = wechat_provider().oa_code_to_openid(code)
    identity = member_identity_link(
        member=member, kind=MemberIdentity.Kind.WECHAT_OA_OPENID, value=openid
    )
    if identity.member_id != member.pk:
        raise WechatAccountTaken()
    return identity


def member_find_by_identity(*, kind: str, value: str) -> Member | None:
    identity = (
        MemberIdentity.objects.select_related("member").filter(kind=kind, value=value).first()
    )
    return identity.member if identity else None


@transaction.atomic
def member_store_join(*, member: Member, store: Store, guide: Staff | None = None) -> Member:
    """A member scanned a store's code: a visit, and the store and guide bound as HQ's rule
    for each says (by default a home store only if they had none, and never moved after).
    A closed or suspended store takes no joins; another store's guide code credits no one."""
    store_open_check(store)
    guide = guide_for(store, guide)
    StoreVisit.objects.create(member=member, store=store, guide=guide)
    store_bind(member=member, store=store, guide=guide)
    member.refresh_from_db(fields=["home_store", "guide"])
    return member


@transaction.atomic
def member_profile_update(
    *,
    member: Member,
    name: str | None = None,
    gender: str | None = None,
    birthday: date | None = None,
    marketing_consent: bool | None = None,
    channel: str = "miniprogram",
) -> Member:
    """What a member may change themselves. The birthday can be set once (it earns a gift).
    The first time name, gender and birthday are all there, `member_profile_completed`."""
    was_complete = member.profile_complete
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
    if marketing_consent is not None:
        member_consent_set(member=member, consent=marketing_consent, channel=channel)
    member.refresh_from_db()
    if member.profile_complete and not was_complete:
        event_emit(name="member_profile_completed", payload={"member": member.pk})
    return member


@transaction.atomic
def member_consent_set(*, member: Member, consent: bool, channel: str) -> Member:
    """The member agrees to, or withdraws from, marketing messages; when and where is kept."""
    if member.marketing_consent != consent:
        Member.objects.filter(pk=member.pk).update(
            marketing_consent=consent, consent_at=timezone.now(), consent_channel=channel
        )
        member.refresh_from_db(fields=["marketing_consent", "consent_at", "consent_channel"])
    return member


@transaction.atomic
def member_delete(*, member: Member, actor=None) -> Member:
    """A member closes their account (PIPL): personal fields are wiped, history stays whole.

    Ledgers, orders and visits keep pointing at the row, which no longer says who it was.
    """
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.status == Member.Status.DELETED:
        return member
    phone_deleted_record(phone=member.phone)
    Member.objects.filter(pk=member.pk).update(
        phone=None,
        name="",
        gender="",
        birthday=None,
        status=Member.Status.DELETED,
        marketing_consent=False,
        consent_at=timezone.now(),
        consent_channel="account_deleted",
    )
    member.identities.all().delete()
    member_tokens_revoke_all(member=member)
    audit_record(actor=actor or f"member:{member.pk}", action="member.delete", target=member)
    member_traces_erase(member=member)  # `member` still holds the phone and name it had
    # Higher apps that hold the phone as text (coupon batches' phone lists) find it by its
    # keyed hash, the only form of it kept (apps.members.returning).
    event_emit(
        name="member_deleted",
        payload={
            "member": member.pk,
            "phone_hash": phone_hash(member.phone) if member.phone else "",
        },
    )
    member.refresh_from_db()
    return member


@transaction.atomic
def member_tag_add(*, tag: Tag, members: list[Member], actor) -> int:
    """Tag members by hand. Store people tag their own store's members with their store's tags."""
    scope = access_scope(actor)
    if not scope.is_hq and (
        tag.store_id is None
        or not scope.allows_store(tag.store_id)
        or any(member.home_store_id != tag.store_id for member in members)
    ):
        raise TagOutOfScope()
    created = MemberTag.objects.bulk_create(
        [MemberTag(member=member, tag=tag, added_by=actor) for member in members],
        ignore_conflicts=True,
    )
    return len(created)


@transaction.atomic
def store_tag_get_or_create(*, store: Store, name: str, actor) -> Tag:
    """A store's own tag of that name, made the first time someone of the store uses it."""
    name = name.strip()
    if not name or len(name) > Tag._meta.get_field("name").max_length:
        raise TagNameInvalid()
    if not access_scope(actor).allows_store(store.pk):
        raise TagOutOfScope()
    tag, _created = Tag.objects.get_or_create(store=store, name=name)
    return tag


@transaction.atomic
def member_phone_reveal(*, member: Member, actor, ip: str | None = None) -> str:
    """A member's full number for the person who must call them: HQ staff with the
    permission, or the owner of the member's home store (or of its dealer). Always audited."""
    allowed = actor.has_perm("members.view_member_phone") or (
        member.home_store is not None and Staff.Role.OWNER in store_roles(actor, member.home_store)
    )
    if not allowed or not member.phone:
        raise PhoneRevealRefused()
    audit_record(actor=actor, action="member.phone_reveal", target=member, ip=ip)
    return member.phone


@transaction.atomic
def member_merge(*, survivor: Member, merged: Member, actor, reason: str) -> Member:
    """Two members turn out to be one person: everything moves to the survivor.

    Identities, visits and tags move here; points, coupons and orders move through the
    `member_merged` event, which their apps handle. The merged member keeps its row, marked
    merged and pointing at the survivor, so that history stays whole. Audited.
    """
    if survivor.pk == merged.pk:
        raise MergeRefused()
    locked = {
        m.pk: m
        for m in Member.objects.select_for_update()
        .filter(pk__in=[survivor.pk, merged.pk])
        .order_by("pk")
    }
    survivor, merged = locked[survivor.pk], locked[merged.pk]
    mergeable = (Member.Status.ACTIVE, Member.Status.FROZEN)
    if survivor.status != Member.Status.ACTIVE or merged.status not in mergeable:
        raise MergeRefused()
    before = {"survivor": snapshot(survivor), "merged": snapshot(merged)}
    MemberIdentity.objects.filter(member=merged).update(member=survivor)
    StoreVisit.objects.filter(member=merged).update(member=survivor)
    MemberTag.objects.filter(member=merged).exclude(
        tag__in=survivor.member_tags.values("tag")
    ).update(member=survivor)
    MemberTag.objects.filter(member=merged).delete()
    Member.objects.filter(referrer=merged).exclude(pk=survivor.pk).update(referrer=survivor)
    attribution_merge(survivor=survivor, merged=merged, now=timezone.now())
    filled = {
        field: getattr(merged, field)
        for field in ("name", "gender", "birthday", "home_store_id", "guide_id", "referrer_id")
        if not getattr(survivor, field) and getattr(merged, field)
    }
    if filled.get("referrer_id") == survivor.pk:
        del filled["referrer_id"]  # the merged one was referred by the survivor itself
    filled["joined_at"] = min(survivor.joined_at, merged.joined_at)
    Member.objects.filter(pk=survivor.pk).update(**filled)
    Member.objects.filter(pk=merged.pk).update(
        status=Member.Status.MERGED, merged_into=survivor, phone=None, referrer=None
    )
    member_tokens_revoke_all(member=merged)
    audit_record(
        actor=actor,
        action="member.merge",
        target=survivor,
        before=before,
        after=filled,
        reason=reason,
    )
    event_emit(name="member_merged", payload={"survivor": survivor.pk, "merged": merged.pk})
    survivor.refresh_from_db()
    return survivor
