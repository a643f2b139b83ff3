"""收货地址: a member's address book, for delivered online orders. A member sees and edits
only their own addresses; at most one is their default."""

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from apps.core.errors import NotFound
from apps.core.phones import normalize_phone
from apps.members.models import Address, Member

EDITABLE = ("name", "phone", "region", "detail", "is_default")


class AddressNotFound(NotFound):
    default_message = _("You have no address with this id.")


def member_addresses(member: Member):
    return Address.objects.filter(member=member).order_by("-is_default", "-pk")


def member_address(member: Member, address_id: int) -> Address:
    """One of the member's own addresses; another member's is not found."""
    address = Address.objects.filter(member=member, pk=address_id).first()
    if address is None:
        raise AddressNotFound()
    return address


def region_normal(region: str) -> str:
    """ "浙江省 / 杭州市/ 西湖区" → "浙江省/杭州市/西湖区": the form shipping rules match."""
    return "/".join(part.strip() for part in region.split("/") if part.strip())


@transaction.atomic
def address_save(*, member: Member, address: Address | None = None, **values) -> Address:
    """Add an address (`address` None) or change one of the member's own. The first one,
    or one made default, is the default; the old default stops being one."""
    if address is None:
        address = Address(member=member)
        values.setdefault("is_default", not member_addresses(member).exists())
    if "phone" in values:
        values["phone"] = normalize_phone(values["phone"])
    if "region" in values:
        values["region"] = region_normal(values["region"])
    for name, value in values.items():
        if name in EDITABLE:
            setattr(address, name, value)
    if address.is_default:
        member_addresses(member).filter(is_default=True).exclude(pk=address.pk).update(
            is_default=False
        )
    address.save()
    return address


@transaction.atomic
def address_delete(*, address: Address) -> None:
    """Delete an address; if it was the default, the newest left becomes the default."""
    member = address.member
    address.delete()
    if address.is_default and (newest := member_addresses(member).first()) is not None:
        Address.objects.filter(pk=newest.pk).update(is_default=True)
