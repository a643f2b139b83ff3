"""What else held a member's phone or name, made to forget them when the account closes
(PIPL). The member's row is wiped by `member_delete`; these are the traces around it."""

from apps.core.audit import audit_forget
from apps.members.imports import member_import_rows_forget
from apps.members.models import Member, SmsCode


def member_traces_erase(*, member: Member) -> None:
    """`member` as it was before the wipe (it still holds the phone and name).

    Sign-in codes sent to the phone go; import reports keep the member's rows with their row
    number and result but without phone or name; audit entries stay, saying only which record
    they were about. Runs in member_delete's transaction."""
    if member.phone:
        SmsCode.objects.filter(phone=member.phone).delete()
    member_import_rows_forget(member_id=member.pk, phone=member.phone or "")
    # A one-letter name would match other people's text: it is taken from the member's own
    # entries only, like the masked phone that other members may share.
    name_is_distinct = len(member.name) >= 2
    audit_forget(
        target=member,
        texts=[member.phone or "", member.name if name_is_distinct else ""],
        shared_texts=[member.phone_masked, "" if name_is_distinct else member.name],
        label=f"#{member.pk}",
    )
