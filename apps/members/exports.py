from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.spreadsheets import csv_line
from apps.members.models import Member

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
