"""What else held a member's phone or name, made to forget them when the account closes
(PIPL). The member's row is wiped by `member_delete`; these are the traces around it."""

from apps.core.audit import audit_forget
from apps.members.imports import member_import_rows_forget
from apps.members.models import Address, Member, SmsCode


def member_traces_erase(*, member: Member) -> None:
    """`member` as it was before the wipe (it still holds the phone and name).

    Sign-in codes sent to the phone go, and the address book; import reports keep the
    member's rows with their row number and result but without phone or name; audit entries
    stay, saying only which record they were about. Members merged into this one were the
    same person: their rows lose name, gender and birthday too, and their traces go the same
    way. Runs in member_delete's transaction."""
    if member.phone:
        SmsCode.objects.filter(phone=member.phone).delete()
    merged = _merged_into(member)
    Address.objects.filter(member__in=[member, *merged]).delete()
    Member.objects.filter(pk__in=[m.pk for m in merged]).update(name="", gender="", birthday=None)
    for person in [member, *merged]:
        member_import_rows_forget(member_id=person.pk, phone=person.phone or "")
        # A one-letter name would match other people's text: it is taken from the person's own
        # entries only, like the masked phone that others may share.
        name_is_distinct = len(person.name) >= 2
        audit_forget(
            target=person,
            texts=[person.phone or "", person.name if name_is_distinct else ""],
            shared_texts=[person.phone_masked, "" if name_is_distinct else person.name],
            label=f"#{person.pk}",
        )


def _merged_into(member: Member) -> list[Member]:
    """The members merged into this one, and those merged into them."""
    found, frontier = [], [member.pk]
    while frontier:
        level = list(Member.objects.filter(merged_into__in=frontier).order_by("pk"))
        found += level
        frontier = [m.pk for m in level]
    return found
