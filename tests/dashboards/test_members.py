"""A shop owner's members: masked list, filters, one member's card, revealing a number
(audited), giving a coupon from the store's allowance, tagging."""

from decimal import Decimal

import pytest

from apps.core.models import AuditEntry
from apps.coupons.models import Coupon
from apps.members.models import MemberTag, Tag
from apps.tiers.models import Tier
from apps.tiers.services import tier_set_manual
from tests.core.factories import UserFactory
from tests.coupons.factories import CouponTemplateFactory
from tests.dashboards.test_overview import person, sell
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    s001, s002 = StoreFactory(code="S001"), StoreFactory(code="S002")
    normal = Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    gold = Tier.objects.create(code="gold", name="黄金会员", rank=1, growth_threshold=500)
    ann = MemberFactory(home_store=s001, name="王安", phone="13900001234")
    bo = MemberFactory(home_store=s001, name="李波", phone="13900005678")
    tier_set_manual(member=bo, tier=gold, until=None, actor=None, reason="测试")
    other = MemberFactory(home_store=s002, name="赵外", phone="13900009999")
    return {"S001": s001, "S002": s002, "ann": ann, "bo": bo, "other": other, "normal": normal}


def test_the_list_shows_the_stores_members_masked_with_tier_and_spend(client, shop):
    sell(shop["S001"], shop["ann"], "120.50", 1)
    sell(shop["S002"], shop["ann"], "99.00", 2)  # bought elsewhere: not this store's spend
    owner = person(client, store=shop["S001"])

    response = owner.get("/dashboard/stores/S001/members/")
    page = response.content.decode()

    rows = {m.name: (m.tier.code, m.spend) for m in response.context["page"]}
    assert rows == {"王安": ("normal", Decimal("120.50")), "李波": ("gold", Decimal("0"))}
    assert "139****1234" in page and "13900001234" not in page
    assert "赵外" not in page


def test_members_are_found_by_the_last_four_digits_tier_and_tag(client, shop):
    owner = person(client, store=shop["S001"])
    vip = Tag.objects.create(name="VIP", store=shop["S001"])
    MemberTag.objects.create(member=shop["ann"], tag=vip)

    def names(query):
        page = owner.get(f"/dashboard/stores/S001/members/?{query}").context["page"]
        return sorted(m.name for m in page)

    assert names("q=5678") == ["李波"]
    assert names("q=13900005678") == ["李波"]
    assert names("q=9999") == []  # another store's member
    assert names("q=王") == ["王安"]
    assert names("tier=normal") == ["王安"]
    assert names("tier=gold") == ["李波"]
    assert names(f"tag={vip.pk}") == ["王安"]
    assert names("activity=new") == ["李波", "王安"]


def test_the_list_costs_the_same_queries_for_a_full_page(
    client, shop, django_assert_max_num_queries
):
    owner = person(client, store=shop["S001"])
    for n in range(25):
        member = MemberFactory(home_store=shop["S001"])
        sell(shop["S001"], member, "10.00", f"m{n}")

    with django_assert_max_num_queries(12):
        response = owner.get("/dashboard/stores/S001/members/")

    assert len(response.context["page"]) == 20


def test_an_owner_of_another_store_cannot_open_a_member(client, shop):
    owner = person(client, store=shop["S002"])
    ann = shop["ann"]

    assert owner.get(f"/dashboard/stores/S001/members/{ann.pk}/").status_code == 404
    assert owner.get(f"/dashboard/stores/S002/members/{ann.pk}/").status_code == 404
    assert owner.post(f"/dashboard/stores/S002/members/{ann.pk}/phone/").status_code == 404
    assert not AuditEntry.objects.filter(action="member.phone_reveal").exists()


def test_a_members_card_shows_orders_points_coupons_and_tags(client, shop):
    ann = shop["ann"]
    sell(shop["S001"], ann, "300.00", 1)
    owner = person(client, store=shop["S001"])

    page = owner.get(f"/dashboard/stores/S001/members/{ann.pk}/")

    card = page.context["card"]
    assert [o.paid_amount for o in card["orders"]] == [Decimal("300.00")]
    assert card["spend"] == Decimal("300.00") and card["tier"]["tier"]["code"] == "normal"
    assert "139****1234" in page.content.decode()


def test_the_owner_reveals_a_number_and_it_is_audited(client, shop):
    owner = person(client, store=shop["S001"])
    ann = shop["ann"]

    response = owner.post(f"/dashboard/stores/S001/members/{ann.pk}/phone/")

    assert response.status_code == 200 and "13900001234" in response.content.decode()
    audit = AuditEntry.objects.get(action="member.phone_reveal")
    assert (
        audit.target_id == str(ann.pk) and audit.actor_label == response.wsgi_request.user.username
    )


def test_a_clerk_may_not_reveal_a_number(client, shop):
    clerk = person(client, store=shop["S001"], role="clerk")
    ann = shop["ann"]

    response = clerk.post(f"/dashboard/stores/S001/members/{ann.pk}/phone/")

    assert response.status_code == 403
    assert "13900001234" not in response.content.decode()
    assert not AuditEntry.objects.filter(action="member.phone_reveal").exists()


def test_hq_needs_the_permission_to_reveal(client, shop):
    from django.contrib.auth.models import Group, Permission

    from apps.core import roles

    hq = UserFactory(is_staff=True)
    hq.groups.add(Group.objects.get(name=roles.MARKETING))  # sees every store, not phones
    client.force_login(hq)
    url = f"/dashboard/stores/S001/members/{shop['ann'].pk}/phone/"

    assert client.post(url).status_code == 403
    hq.user_permissions.add(Permission.objects.get(codename="view_member_phone"))
    assert "13900001234" in client.post(url).content.decode()


def test_the_owner_gives_a_coupon_from_the_allowance_once_per_form(client, shop):
    template = CouponTemplateFactory(name="到店礼券", per_store_limit=2, claimable=False)
    owner = person(client, store=shop["S001"])
    ann = shop["ann"]
    page = owner.get(f"/dashboard/stores/S001/members/{ann.pk}/")
    key = page.context["gift_form"]["key"].value()
    form = {"key": key, "template": template.pk}

    first = owner.post(f"/dashboard/stores/S001/members/{ann.pk}/gift/", form, follow=True)
    owner.post(f"/dashboard/stores/S001/members/{ann.pk}/gift/", form)  # a double tap

    coupon = Coupon.objects.get()
    assert (coupon.member, coupon.source, coupon.template) == (ann, "store_gift", template)
    assert "到店礼券" in first.content.decode()
    choices = dict(first.context["gift_form"].fields["template"].choices)
    assert "1" in str(choices[template.pk])  # one of two left


def test_a_clerk_cannot_give_from_the_allowance(client, shop):
    template = CouponTemplateFactory(per_store_limit=2, claimable=False)
    clerk = person(client, store=shop["S001"], role="clerk")
    ann = shop["ann"]

    page = clerk.get(f"/dashboard/stores/S001/members/{ann.pk}/")
    response = clerk.post(
        f"/dashboard/stores/S001/members/{ann.pk}/gift/", {"key": "k1", "template": template.pk}
    )

    assert page.context["gift_form"] is None
    assert response.status_code == 404 and not Coupon.objects.exists()


def test_staff_tag_a_member_with_a_store_tag(client, shop):
    guide = person(client, store=shop["S001"], role="guide")
    ann = shop["ann"]
    url = f"/dashboard/stores/S001/members/{ann.pk}/tag/"

    guide.post(url, {"name": " 爱喝乌龙 "})
    guide.post(url, {"name": "爱喝乌龙"})
    refused = guide.post(url, {"name": ""}, follow=True)

    tag = Tag.objects.get()
    assert (tag.name, tag.store) == ("爱喝乌龙", shop["S001"])
    assert list(MemberTag.objects.values_list("member", "tag")) == [(ann.pk, tag.pk)]
    assert "标签" in refused.content.decode()
    page = guide.get(f"/dashboard/stores/S001/members/{ann.pk}/")
    assert [t.name for t in page.context["card"]["tags"]] == ["爱喝乌龙"]
