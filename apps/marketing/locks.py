"""Row locks the sending job takes, in one order: the due messages (skipping those another
run holds), then their members in key order."""

from apps.members.models import Member


def members_lock(member_ids: list[int]) -> None:
    """Hold the members' rows until the transaction ends (FOR NO KEY UPDATE: a change to
    one of these members waits for this short transaction; rows that merely point at them,
    an order or a ledger entry, do not)."""
    list(
        Member.objects.select_for_update(no_key=True)
        .filter(pk__any=sorted(member_ids))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
