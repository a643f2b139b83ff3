"""Import members from another platform's export (CSV or XLSX).

`member_import_upload` keeps the file HQ uploaded (refused at once when too large) and hands
it to a job: `member_import_check` reads it there and makes a dry run: which rows would create
a member, which would merge into an existing one (same phone), and which are rejected and
why. Then `member_import_run` imports it in chunks, each chunk in one transaction together with its
report lines, so that a run stopped half-way can be run again and only does what is left.
A phone already known merges (empty name and birthday filled, the platform id linked);
points to carry over travel in a `members_imported` event for the points ledger.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.bulk import custom_plans
from apps.core.events import event_emit
from apps.core.imports import (
    dry_run_preview,
    import_check,
    import_failed,
    import_files_purge,
    import_run,
    import_start,
    import_upload,
    imports_resume,
    report_lines,
    report_rewrite,
)
from apps.core.phones import InvalidPhone, mask_phone, normalize_phone
from apps.core.spreadsheets import (
    csv_document,
    csv_line,
    parse_date,
    parse_datetime,
    spreadsheet_rows,
)
from apps.members.models import Member, MemberIdentity, MemberImport, MemberImportChunk
from apps.members.returning import phones_returning

CHUNK = 2000
MAX_ROWS = 500_000
COLUMNS = {
    "phone": {"phone", "mobile", "手机号", "手机", "手机号码", "电话"},
    "name": {"name", "姓名", "名字", "昵称", "会员姓名"},
    "birthday": {"birthday", "生日", "出生日期"},
    "platform_id": {
        "platform_id",
        "平台id",
        "用户id",
        "会员id",
        "会员编号",
        "buyer_id",
        "user_id",
        "openid",
    },
    "points": {"points", "积分", "积分余额", "可用积分"},
    "joined_at": {"joined_at", "注册时间", "入会时间", "开卡时间"},
}


@dataclass
class Row:
    number: int  # as the spreadsheet numbers it: the header is row 1
    phone: str = ""
    name: str = ""
    birthday: date | None = None
    platform_id: str = ""
    points: int = 0
    joined_at: datetime | None = None
    reason: str = ""  # why it is rejected; empty when it is fine


@dataclass
class Outcome:
    row: Row
    result: str  # created, merged, rejected
    member_id: int | None = None


# Reading


def read_rows(file_name: str, content: bytes) -> list[Row]:
    return [
        _parse(number, values)
        for number, values in spreadsheet_rows(
            file_name, content, COLUMNS, required="phone", max_rows=MAX_ROWS
        )
    ]


def _parse(number: int, values: dict[str, str]) -> Row:
    row = Row(
        number=number,
        name=values.get("name", "")[:50],
        platform_id=values.get("platform_id", "")[:128],
    )
    try:
        row.phone = normalize_phone(values.get("phone", ""))
    except InvalidPhone:
        row.phone = values.get("phone", "")
        row.reason = _("not a mainland China mobile number")
        return row
    if values.get("birthday"):
        row.birthday = parse_date(values["birthday"][:10])
        if row.birthday is None or row.birthday > timezone.localdate():
            row.reason = _("the birthday is not a valid date")
    if values.get("points"):
        try:
            row.points = int(values["points"])
        except ValueError:
            row.points = -1
        if row.points < 0:
            row.reason = _("points must be a whole number, 0 or more")
    if values.get("joined_at"):
        row.joined_at = parse_datetime(values["joined_at"])
        if row.joined_at is None:
            row.reason = _("the joining time is not a valid date")
    return row


def _mark_repeats(rows: list[Row]) -> None:
    first_row = {}
    for row in rows:
        if row.reason:
            continue
        if row.phone in first_row:
            row.reason = _("the same phone as row %(row)d") % {"row": first_row[row.phone]}
        else:
            first_row[row.phone] = row.number


# Deciding and writing


def _decide(rows: list[Row], platform: str) -> tuple[list[Outcome], dict[str, Member]]:
    """What each row of a chunk would do, from two look-ups."""
    fine = [row for row in rows if not row.reason]
    existing = {m.phone: m for m in Member.objects.filter(phone__in=[row.phone for row in fine])}
    owners = dict(
        MemberIdentity.objects.filter(
            kind=platform, value__in=[r.platform_id for r in fine if r.platform_id]
        ).values_list("value", "member_id")
    )
    outcomes = []
    for row in rows:
        member = existing.get(row.phone)
        owner = owners.get(row.platform_id)
        if not row.reason and owner is not None and (member is None or owner != member.pk):
            row.reason = _("this platform id belongs to another member")
        if row.reason:
            outcomes.append(Outcome(row, "rejected"))
        elif member is not None and member.status not in (
            Member.Status.ACTIVE,
            Member.Status.FROZEN,
        ):
            row.reason = _("the member with this phone is closed")
            outcomes.append(Outcome(row, "rejected"))
        else:
            outcomes.append(
                Outcome(row, "merged" if member else "created", member.pk if member else None)
            )
    return outcomes, existing


def _write(
    outcomes: list[Outcome], existing: dict[str, Member], member_import: MemberImport
) -> None:
    creating = [o for o in outcomes if o.result == "created"]
    returning = phones_returning([o.row.phone for o in creating])
    new = [
        Member(
            phone=o.row.phone,
            name=o.row.name,
            birthday=o.row.birthday,
            home_store=member_import.home_store,
            source=f"import:{member_import.platform}",
            joined_at=o.row.joined_at or timezone.now(),
            returning=o.row.phone in returning,
        )
        for o in creating
    ]
    Member.objects.bulk_create(new, batch_size=CHUNK)
    made = {member.phone: member for member in new}
    for outcome in outcomes:
        if outcome.result == "created":
            outcome.member_id = made[outcome.row.phone].pk
    fill = []
    for outcome in outcomes:
        member = existing.get(outcome.row.phone) if outcome.result == "merged" else None
        if member is None:
            continue
        changed = False
        if not member.name and outcome.row.name:
            member.name, changed = outcome.row.name, True
        if member.birthday is None and outcome.row.birthday:
            member.birthday, changed = outcome.row.birthday, True
        if changed:
            fill.append(member)
    Member.objects.bulk_update(fill, ["name", "birthday"], batch_size=CHUNK)
    MemberIdentity.objects.bulk_create(
        [
            MemberIdentity(
                member_id=o.member_id, kind=member_import.platform, value=o.row.platform_id
            )
            for o in outcomes
            if o.result != "rejected" and o.row.platform_id
        ],
        ignore_conflicts=True,
    )


def _report_text(outcomes: list[Outcome]) -> str:
    results = {"created": _("created"), "merged": _("merged"), "rejected": _("rejected")}
    return "".join(
        csv_line(
            [
                o.row.number,
                o.row.phone,
                o.row.name,
                results[o.result],
                o.row.reason,
                o.member_id or "",
            ]
        )
        for o in outcomes
    )


def _chunks(rows: list[Row]) -> Iterator[tuple[int, list[Row]]]:
    for index, start in enumerate(range(0, len(rows), CHUNK)):
        yield index, rows[start : start + CHUNK]


# Use cases


def member_import_upload(
    *, file_name: str, content: bytes, platform: str, home_store=None, actor=None
) -> MemberImport:
    """HQ uploads a file: it is kept, and checked by a job (`member_import_check`)."""
    from apps.members.tasks import member_import_check_task

    return import_upload(
        MemberImport,
        check_task=member_import_check_task,
        file_name=file_name,
        content=content,
        actor=actor,
        platform=platform,
        home_store=home_store,
    )


def member_import_check(*, import_id: int) -> MemberImport:
    """The dry run: which rows would create a member, merge into one, or are rejected."""
    return import_check(MemberImport, import_id=import_id, read=_read, dry_run=_dry_run)


def _read(file_name: str, content: bytes) -> list[Row]:
    rows = read_rows(file_name, content)
    _mark_repeats(rows)
    return rows


def _dry_run(member_import: MemberImport, rows: list[Row]) -> dict:
    decided = (
        (outcome, outcome.result)
        for _index, chunk in _chunks(rows)
        for outcome in _decide(chunk, member_import.platform)[0]
    )
    preview = dry_run_preview(
        decided,
        results=("created", "merged", "rejected"),
        rejected_as="rejected_rows",
        describe=lambda outcome: {
            "row": outcome.row.number,
            "phone": mask_phone(outcome.row.phone),  # enough to find the row
            "reason": outcome.row.reason,
        },
    )
    return {"total_rows": len(rows), "preview": preview}


def member_import_start(*, member_import: MemberImport) -> MemberImport:
    """HQ confirms the dry run: the import runs as a job (at once on the embedded default)."""
    from apps.members.tasks import member_import_run_task

    return import_start(member_import, run_task=member_import_run_task)


def member_import_run(*, import_id: int) -> MemberImport:
    """Import what is left of an upload, chunk by chunk. Safe to run again."""
    return import_run(MemberImport, import_id=import_id, read=_read, import_rest=_import_rest)


def _import_rest(member_import: MemberImport, rows: list[Row]) -> None:
    done = set(member_import.chunks.values_list("index", flat=True))
    for index, chunk in _chunks(rows):
        if index not in done:
            _import_chunk(member_import, index, chunk)


def _import_chunk(member_import: MemberImport, index: int, rows: list[Row]) -> None:
    for attempt in range(2):
        try:
            with transaction.atomic():
                custom_plans()
                outcomes, existing = _decide(
                    [Row(**vars(row)) for row in rows], member_import.platform
                )
                _write(outcomes, existing, member_import)
                MemberImportChunk.objects.create(
                    member_import=member_import,
                    index=index,
                    created=sum(o.result == "created" for o in outcomes),
                    merged=sum(o.result == "merged" for o in outcomes),
                    rejected=sum(o.result == "rejected" for o in outcomes),
                    report=_report_text(outcomes),
                )
                carried = [
                    [o.member_id, o.row.points]
                    for o in outcomes
                    if o.member_id and o.row.points > 0
                ]
                if carried:
                    event_emit(
                        name="members_imported",
                        payload={
                            "import": member_import.pk,
                            "chunk": index,
                            "platform": member_import.platform,
                            "points": carried,
                        },
                    )
            return
        except IntegrityError:
            # A member signed up with one of these phones meanwhile: decide the chunk again.
            if attempt:
                raise


def member_imports_resume() -> int:
    from apps.members.tasks import member_import_check_task, member_import_run_task

    return imports_resume(
        MemberImport, check_task=member_import_check_task, run_task=member_import_run_task
    )


def member_import_failed(*, import_id: int, error: str) -> None:
    import_failed(MemberImport, import_id=import_id, error=error)


def member_import_files_purge() -> int:
    return import_files_purge(MemberImport)


def member_import_summary(member_import: MemberImport) -> dict[str, int]:
    chunks = list(member_import.chunks.values("created", "merged", "rejected"))
    return {key: sum(chunk[key] for chunk in chunks) for key in ("created", "merged", "rejected")}


REPORT_PHONE = 1  # the column of a report line that holds the phone (see _report_text)


def member_import_report(member_import: MemberImport, *, full_phones: bool) -> str:
    """The report as a CSV file; phones masked for those who may not see them."""
    body = "".join(member_import.chunks.order_by("index").values_list("report", flat=True))
    return csv_document(
        [_("row"), _("mobile"), _("name"), _("result"), _("reason"), _("member id")],
        (line if full_phones else _masked(line) for line in report_lines(body)),
    )


def _masked(line: list[str]) -> list[str]:
    line[REPORT_PHONE] = mask_phone(line[REPORT_PHONE].lstrip("'"))
    return line


def member_import_rows_forget(*, member_id: int, phone: str) -> None:
    """A member closed their account: their rows in import reports keep their row number and
    result, but no longer their phone or name. (Dry runs keep masked phones only.)"""
    # The member id ends a report line (see _report_text).
    mentions = Q(report__contains=f",{member_id}\r\n")
    if phone:
        mentions |= Q(report__contains=phone)
    chunks = list(MemberImportChunk.objects.filter(mentions).order_by("pk"))
    for chunk in chunks:
        chunk.report = report_rewrite(chunk.report, lambda line: _forgotten(line, member_id, phone))
    MemberImportChunk.objects.bulk_update(chunks, ["report"])


def _forgotten(line: list[str], member_id: int, phone: str) -> list[str]:
    if line[-1] == str(member_id) or (phone and line[REPORT_PHONE] == phone):
        line[REPORT_PHONE] = line[REPORT_PHONE + 1] = ""
    return line
