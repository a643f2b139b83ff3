"""Members who come back. Deleting an account keeps only a keyed hash of its phone
(DeletedPhone); the same number joining again makes a `returning` member, who earns no
welcome a second time: the handlers of `member_joined` and the new-member coupon rule read
`Member.returning`.

The key is DELETED_PHONE_KEY, else one derived from SECRET_KEY. A mainland mobile number
has about ten digits of freedom, so a plain hash could be reversed by trying them all;
without the key it cannot. Changing the key forgets every deleted phone.
"""

from django.conf import settings
from django.utils.crypto import salted_hmac

from apps.members.models import DeletedPhone

_SALT = "huiji.members.deleted-phone"


def phone_hash(phone: str) -> str:
    secret = settings.DELETED_PHONE_KEY or settings.SECRET_KEY
    return salted_hmac(_SALT, phone, secret=secret, algorithm="sha256").hexdigest()


def phone_deleted_record(*, phone: str | None) -> None:
    """Remember that this phone had an account (once; deleting it again changes nothing).
    A merged member's row has no phone left: its person lives on in the survivor."""
    if not phone:
        return
    DeletedPhone.objects.bulk_create(
        [DeletedPhone(phone_hash=phone_hash(phone))], ignore_conflicts=True
    )


def phone_returning(phone: str) -> bool:
    return DeletedPhone.objects.filter(phone_hash=phone_hash(phone)).exists()


def phones_returning(phones: list[str]) -> set[str]:
    """Which of `phones` had an account that was deleted, in one query (an import's chunk)."""
    hashes = {phone_hash(phone): phone for phone in phones}
    found = DeletedPhone.objects.filter(phone_hash__in=list(hashes)).values_list(
        "phone_hash", flat=True
    )
    return {hashes[digest] for digest in found}
