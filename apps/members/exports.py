"""What the members app hands out: CSV files of members for HQ, and a member's own data for
them to download (PIPL)."""

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.spreadsheets import csv_line
from apps.members.models import Member, MemberCode, MemberOtp, MemberTag, MemberToken

_BATCH = 2000


def members_csv_response(
    members: QuerySet[Member], *, full_phones: bool, name: str
) -> StreamingHttpResponse:
    """A CSV of members that opens in Excel, streamed in batches; phones masked unless allowed."""
    header = [
        _("member id"),
        _("mobile"),
        _("name"),
        _("gender"),
        _("birthday"),
        _("home store"),
        _("joined at"),
        _("last active at"),
        _("agrees to marketing"),
    ]

    def rows():
        yield "\ufeff" + csv_line(header)
        for member in (
            members.select_related("home_store").order_by("pk").iterator(chunk_size=_BATCH)
        ):
            yield csv_line(
                [
                    member.pk,
                    member.phone if full_phones else member.phone_masked,
                    member.name,
                    member.get_gender_display(),
                    member.birthday or "",
                    member.home_store.name if member.home_store else "",
                    timezone.localtime(member.joined_at).strftime("%Y-%m-%d %H:%M"),
                    timezone.localtime(member.last_active_at).strftime("%Y-%m-%d %H:%M")
                    if member.last_active_at
                    else "",
                    _("yes") if member.marketing_consent else _("no"),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{name}-{timezone.localdate():%Y%m%d}.csv"'
    )
    return response


def member_personal_data(member: Member) -> dict:
    """Everything the members app holds about a member, for them to download (PIPL): their
    profile, consent, address book, channel ids, tags, store visits, referrals, the promoters
    they were bound to (by code), sign-ins (when, never the token) and member codes spent at
    tills. Other apps' parts are added by the caller."""
    member = Member.objects.select_related("home_store", "referrer").get(pk=member.pk)
    return {
        "member": {
            "id": member.pk,
            "phone": member.phone,
            "name": member.name,
            "gender": member.gender,
            "birthday": member.birthday,
            "status": member.status,
            "joined_at": member.joined_at,
            "source": member.source,
            "home_store": member.home_store.name if member.home_store else None,
            "last_active_at": member.last_active_at,
        },
        "consent": {
            "marketing": member.marketing_consent,
            "changed_at": member.consent_at,
            "channel": member.consent_channel,
        },
        "addresses": [
            {
                "name": address.name,
                "phone": address.phone,
                "region": address.region,
                "detail": address.detail,
                "default": address.is_default,
            }
            for address in member.addresses.order_by("created_at", "pk")
        ],
        "identities": [
            {"channel": identity.kind, "id": identity.value, "linked_at": identity.created_at}
            for identity in member.identities.order_by("created_at", "pk")
        ],
        "tags": [
            {"tag": tagged.tag.name, "tagged_at": tagged.created_at}
            for tagged in MemberTag.objects.filter(member=member)
            .select_related("tag")
            .order_by("created_at", "pk")
        ],
        "store_visits": [
            {"store": visit.store.name, "at": visit.created_at}
            for visit in member.visits.select_related("store").order_by("created_at", "pk")
        ],
        "referrals": {
            "my_referral_code": member.referral_code,
            "referred_by_code": member.referrer.referral_code if member.referrer else None,
            "members_i_referred": member.referrals.count(),
        },
        "promoter_bindings": [
            {
                "promoter_code": binding.promoter.referral_code,
                "source": binding.source,
                "from": binding.started_at,
                "until": binding.ends_at,
                "replaced_at": binding.replaced_at,
            }
            for binding in member.bindings.select_related("promoter").order_by("started_at", "pk")
        ],
        "store_bindings": [
            {
                "kind": binding.kind,
                "store": binding.store.name,
                "guide_code": binding.guide.guide_code if binding.guide else None,
                "source": binding.source,
                "from": binding.started_at,
                "until": binding.ends_at,
                "replaced_at": binding.replaced_at,
            }
            for binding in member.store_bindings.select_related("store", "guide").order_by(
                "started_at", "pk"
            )
        ],
        "sign_ins": [
            {"at": token.created_at, "expires_at": token.expires_at, "ended_at": token.revoked_at}
            for token in MemberToken.objects.filter(member=member).order_by("created_at", "pk")
        ],
        "member_codes_used": [
            {"store": use.store.name if use.store else None, "at": use.used_at}
            for use in MemberCode.objects.filter(member=member, used_at__isnull=False)
            .select_related("store")
            .order_by("used_at", "pk")
        ],
        "codes_texted_by_stores": [
            {"store": otp.store.name, "sent_at": otp.created_at, "used_at": otp.used_at}
            for otp in MemberOtp.objects.filter(member=member)
            .select_related("store")
            .order_by("created_at", "pk")
        ],
    }
