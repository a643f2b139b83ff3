import pytest

from apps.core.errors import DomainError
from apps.core.models import AuditEntry, Event
from apps.members.models import Member, MemberTag, StoreVisit, Tag
from apps.members.services import member_identity_link, member_merge
from tests.core.factories import UserFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_merge_moves_everything_to_the_survivor():
    store = StoreFactory()
    survivor = MemberFactory(phone="13900000001", name="", birthday=None, home_store=None)
    merged = MemberFactory(
        phone="13900000002", name="林晓", birthday="1992-05-20", home_store=store
    )
    referred = MemberFactory(referrer=merged)
    member_identity_link(member=merged, kind="youzan", value="yz-1")
    StoreVisit.objects.create(member=merged, store=store)
    both, only_merged = Tag.objects.create(name="VIP"), Tag.objects.create(name="爱美妆")
    MemberTag.objects.create(member=survivor, tag=both)
    MemberTag.objects.create(member=merged, tag=both)
    MemberTag.objects.create(member=merged, tag=only_merged)
    hq = UserFactory(is_staff=True)

    result = member_merge(survivor=survivor, merged=merged, actor=hq, reason="同一人两个号")

    merged.refresh_from_db()
    assert (merged.status, merged.merged_into, merged.phone) == (Member.Status.MERGED, result, None)
    assert list(result.identities.values_list("value", flat=True)) == ["yz-1"]
    assert result.visits.count() == 1
    assert set(result.member_tags.values_list("tag__name", flat=True)) == {"VIP", "爱美妆"}
    assert MemberTag.objects.filter(member=merged).count() == 0
    assert (result.name, str(result.birthday), result.home_store) == ("林晓", "1992-05-20", store)
    assert Member.objects.get(pk=referred.pk).referrer == result
    assert AuditEntry.objects.filter(action="member.merge", actor=hq).count() == 1
    assert Event.objects.get(name="member_merged").payload == {
        "survivor": survivor.pk,
        "merged": merged.pk,
    }


@pytest.mark.parametrize("status", [Member.Status.DELETED, Member.Status.MERGED])
def test_a_gone_member_cannot_be_merged(status):
    survivor = MemberFactory()
    gone = MemberFactory(status=status, phone=None)

    with pytest.raises(DomainError):
        member_merge(survivor=survivor, merged=gone, actor=None, reason="x")
    assert Member.objects.get(pk=gone.pk).merged_into is None


def test_a_member_cannot_be_merged_into_itself():
    member = MemberFactory()

    with pytest.raises(DomainError):
        member_merge(survivor=member, merged=member, actor=None, reason="x")
