"""`field__any`: a batch's ids as one array parameter, the same rows as `__in`."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.members.models import Member, StoreVisit
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_any_finds_what_in_finds_with_one_parameter():
    members = MemberFactory.create_batch(5)
    wanted = [members[0].pk, members[3].pk, 10**9]

    with CaptureQueriesContext(connection) as captured:
        found = set(Member.objects.filter(pk__any=wanted))

    assert found == set(Member.objects.filter(pk__in=wanted)) == {members[0], members[3]}
    assert "= ANY(" in captured[0]["sql"]


def test_any_on_a_foreign_key_an_update_and_an_empty_list():
    store = StoreFactory()
    ann, bo = MemberFactory(), MemberFactory()
    StoreVisit.objects.create(member=ann, store=store)

    assert list(StoreVisit.objects.filter(member_id__any=[ann.pk, bo.pk])) == list(
        StoreVisit.objects.all()
    )
    assert Member.objects.filter(pk__any=[bo.pk]).update(name="波") == 1
    assert not Member.objects.filter(pk__any=[]).exists()
    assert Member.objects.get(pk=bo.pk).name == "波"
