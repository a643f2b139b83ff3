"""One attribution rule for home stores and guides: the same rule object as promoters',
each kind with its own settings; every binding recorded with its source and end; and a
merge moves bindings to the survivor."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.members.attribution import BindingKind, BindingMode, binding_rule, promoter_bind
from apps.members.models import Member, PromoterBinding, StoreBinding
from apps.members.services import member_join_or_find, member_merge, member_store_join
from tests.core.factories import UserFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


@pytest.fixture
def shops():
    one, two = StoreFactory(), StoreFactory()
    return {
        "one": one,
        "two": two,
        "mei": StaffFactory(store=one, role="guide"),
        "lei": StaffFactory(store=one, role="guide"),
        "two_guide": StaffFactory(store=two, role="guide"),
    }


def test_each_kind_reads_its_own_settings(settings):
    settings.GUIDE_BINDING, settings.GUIDE_PROTECT_DAYS, settings.GUIDE_BINDING_DAYS = (
        "protected",
        7,
        90,
    )
    settings.HOME_STORE_BINDING, settings.HOME_STORE_BIND_EXISTING = "last", False
    guide, home = binding_rule(BindingKind.GUIDE), binding_rule(BindingKind.HOME_STORE)
    assert (guide.mode, guide.protect_days, guide.binding_days) == ("protected", 7, 90)
    assert (home.mode, home.existing_members, home.binding_days) == ("last", False, 0)
    assert binding_rule().mode == settings.PROMOTER_BINDING


def test_a_join_through_a_guides_code_records_both_bindings(shops):
    member, _made = member_join_or_find(
        phone="13900000011", source="miniprogram", store=shops["one"], guide=shops["mei"]
    )
    rows = {b.kind: b for b in StoreBinding.objects.filter(member=member)}
    assert rows["home_store"].store == shops["one"] and rows["home_store"].source == "guide_code"
    assert rows["guide"].guide == shops["mei"] and rows["guide"].ends_at is None


def test_by_default_a_later_scan_never_moves_home_store_or_guide(shops):
    member, _made = member_join_or_find(
        phone="13900000012", source="miniprogram", store=shops["one"], guide=shops["mei"]
    )
    member_store_join(member=member, store=shops["two"], guide=shops["two_guide"])
    member_store_join(member=member, store=shops["one"], guide=shops["lei"])
    member.refresh_from_db()
    assert (member.home_store, member.guide) == (shops["one"], shops["mei"])
    assert StoreBinding.objects.filter(member=member).count() == 2


def test_last_click_moves_both_and_keeps_the_history(shops, settings):
    settings.HOME_STORE_BINDING = settings.GUIDE_BINDING = BindingMode.LAST
    member, _made = member_join_or_find(
        phone="13900000013", source="miniprogram", store=shops["one"], guide=shops["mei"]
    )
    member_store_join(member=member, store=shops["two"], guide=shops["two_guide"])
    member.refresh_from_db()
    assert (member.home_store, member.guide) == (shops["two"], shops["two_guide"])
    current = StoreBinding.objects.filter(member=member, replaced_at__isnull=True)
    assert {(b.kind, b.store_id) for b in current} == {
        ("home_store", shops["two"].pk),
        ("guide", shops["two"].pk),
    }
    assert StoreBinding.objects.filter(member=member, replaced_at__isnull=False).count() == 2


def test_a_protected_guide_is_replaced_only_after_the_window(shops, settings):
    settings.GUIDE_BINDING, settings.GUIDE_PROTECT_DAYS = BindingMode.PROTECTED, 30
    member, _made = member_join_or_find(
        phone="13900000014", source="miniprogram", store=shops["one"], guide=shops["mei"]
    )
    member_store_join(member=member, store=shops["one"], guide=shops["lei"])
    member.refresh_from_db()
    assert member.guide == shops["mei"]
    StoreBinding.objects.filter(member=member).update(started_at=timezone.now() - 31 * DAY)
    member_store_join(member=member, store=shops["one"], guide=shops["lei"])
    member.refresh_from_db()
    assert member.guide == shops["lei"]


def test_a_guide_binds_only_members_of_their_own_store(shops, settings):
    settings.GUIDE_BINDING = BindingMode.LAST
    member = MemberFactory(home_store=shops["one"], guide=None)
    member_store_join(member=member, store=shops["two"], guide=shops["two_guide"])
    member.refresh_from_db()
    assert (member.home_store, member.guide) == (shops["one"], None)
    member_store_join(member=member, store=shops["one"], guide=shops["mei"])
    member.refresh_from_db()
    assert member.guide == shops["mei"]


def test_new_members_only_leaves_an_existing_member_without_a_store(shops, settings):
    settings.HOME_STORE_BIND_EXISTING = False
    member = MemberFactory(home_store=None)
    member_store_join(member=member, store=shops["one"])
    member.refresh_from_db()
    assert member.home_store is None and not StoreBinding.objects.filter(member=member).exists()


def test_a_guide_binding_ends_as_its_settings_say(shops, settings):
    settings.GUIDE_BINDING_DAYS = 90
    member, _made = member_join_or_find(
        phone="13900000015", source="miniprogram", store=shops["one"], guide=shops["mei"]
    )
    guide = StoreBinding.objects.get(member=member, kind="guide")
    assert guide.ends_at == guide.started_at + 90 * DAY
    home = StoreBinding.objects.get(member=member, kind="home_store")
    assert home.ends_at is None


def test_a_merge_moves_bindings_to_the_survivor(shops):
    other = MemberFactory()
    survivor = MemberFactory(home_store=None, guide=None)
    merged, _made = member_join_or_find(
        phone="13900000016", source="miniprogram", store=shops["one"], guide=shops["mei"]
    )
    customer = MemberFactory()
    now = timezone.now() - DAY
    promoter_bind(member=customer, promoter=merged, source="link", now=now)
    promoter_bind(member=merged, promoter=other, source="link", now=now)
    promoter_bind(member=survivor, promoter=merged, source="poster", now=now)

    member_merge(survivor=survivor, merged=merged, actor=UserFactory(is_staff=True), reason="")

    survivor.refresh_from_db()
    current = PromoterBinding.objects.filter(replaced_at__isnull=True)
    assert current.get(member=customer).promoter == survivor
    # the survivor is no longer bound to itself; it takes the merged one's promoter
    assert current.get(member=survivor).promoter == other
    assert not PromoterBinding.objects.filter(member=merged).exists()
    assert (survivor.home_store, survivor.guide) == (shops["one"], shops["mei"])
    kinds = StoreBinding.objects.filter(member=survivor, replaced_at__isnull=True)
    assert {b.kind for b in kinds} == {"home_store", "guide"}
    assert not Member.objects.filter(pk=merged.pk, store_bindings__isnull=False).exists()
