"""The member pages of the HQ console: search, masked phones, tag, export, merge, segments."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from apps.core import roles
from apps.core.models import AuditEntry
from apps.members.models import Member, MemberTag, Segment, Tag
from apps.members.services import member_identity_link
from tests.core.factories import UserFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def hq(client, role):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return user


@pytest.fixture
def members():
    return [
        MemberFactory(phone="13912345678", name="林晓"),
        MemberFactory(phone="13700005678", name="王芳"),
        MemberFactory(phone="13600001111", name="张伟"),
    ]


def listed(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def test_search_by_last_four_full_phone_name_and_channel_id(hq_client, members):
    member_identity_link(member=members[2], kind="youzan", value="yz-888")

    assert listed(hq_client.get("/admin/members/member/?q=5678")) == {members[0].pk, members[1].pk}
    assert listed(hq_client.get("/admin/members/member/?q=13912345678")) == {members[0].pk}
    assert listed(hq_client.get("/admin/members/member/?q=王芳")) == {members[1].pk}
    assert listed(hq_client.get("/admin/members/member/?q=yz-888")) == {members[2].pk}


@pytest.mark.parametrize(
    "term",
    ["5678", "13912345678", "139 1234 5678", "+86 139-1234-5678", "1391234", "139", "12345678"],
)
def test_without_the_phone_permission_no_search_finds_a_member_by_phone(client, members, term):
    hq(client, roles.MARKETING)

    response = client.get("/admin/members/member/", {"q": term})

    assert response.status_code == 200
    assert listed(response) == set()
    assert not AuditEntry.objects.filter(action="member.phone_search").exists()
    assert response.context["cl"].search_help_text == "姓名、推荐码或渠道 ID"


@pytest.mark.parametrize(
    "lookup", ["phone", "phone__startswith", "phone__contains", "phone__regex", "phone__gt"]
)
@pytest.mark.parametrize("role", [roles.MARKETING, roles.CUSTOMER_SERVICE])
def test_no_one_filters_members_by_phone_in_the_address(client, members, role, lookup):
    hq(client, role)

    response = client.get("/admin/members/member/", {lookup: "139"})

    assert response.status_code == 400  # a lookup the page does not allow
    assert not AuditEntry.objects.filter(action="member.phone_search").exists()


def test_without_the_permission_the_list_cannot_be_sorted_by_phone(client, members):
    hq(client, roles.MARKETING)
    column = client.get("/admin/members/member/").context["cl"].list_display.index("phone_masked")

    response = client.get("/admin/members/member/", {"o": f"-{column}"})

    ordered = [m.pk for m in response.context["cl"].result_list]
    assert ordered == [m.pk for m in Member.objects.order_by("-pk")]


def test_still_found_by_name_without_the_permission_with_the_phone_masked(client, members):
    hq(client, roles.MARKETING)

    response = client.get("/admin/members/member/", {"q": "林晓"})

    assert listed(response) == {members[0].pk}
    page = response.content.decode()
    assert "139****5678" in page and "13912345678" not in page


@pytest.mark.parametrize(
    ("term", "logged"),
    [("5678", "****5678"), ("13912345678", "139****5678"), ("139 1234 5678", "139****5678")],
)
def test_phone_searches_by_those_who_may_are_audited_with_the_term_masked(
    client, members, term, logged
):
    user = hq(client, roles.CUSTOMER_SERVICE)

    response = client.get("/admin/members/member/", {"q": term}, REMOTE_ADDR="10.0.0.8")

    assert members[0].pk in listed(response)
    entry = AuditEntry.objects.get(action="member.phone_search")
    assert (entry.actor, entry.after, entry.ip) == (user, {"term": logged}, "10.0.0.8")
    assert entry.created_at is not None


def test_a_name_search_is_not_a_phone_search(client, members):
    hq(client, roles.CUSTOMER_SERVICE)

    client.get("/admin/members/member/", {"q": "林晓"})

    assert not AuditEntry.objects.filter(action="member.phone_search").exists()


def test_marketing_sees_masked_phones_customer_service_full_ones(client, members):
    hq(client, roles.MARKETING)
    masked = client.get("/admin/members/member/").content.decode()
    detail = client.get(f"/admin/members/member/{members[0].pk}/change/").content.decode()

    assert "139****5678" in masked and "13912345678" not in masked
    assert "13912345678" not in detail

    hq(client, roles.CUSTOMER_SERVICE)
    assert "13912345678" in client.get("/admin/members/member/").content.decode()


def test_customer_service_corrects_a_birthday_and_it_is_audited(client, members):
    user = hq(client, roles.CUSTOMER_SERVICE)
    member = members[0]
    member.birthday = "1992-05-20"
    member.save()
    form = {
        "phone": member.phone,
        "name": member.name,
        "gender": "",
        "birthday": "1992-06-20",
        "status": "active",
        "home_store": "",
        "guide": "",
        "referrer": "",
        "consent_channel": "",
        "identities-TOTAL_FORMS": 0,
        "identities-INITIAL_FORMS": 0,
        "member_tags-TOTAL_FORMS": 0,
        "member_tags-INITIAL_FORMS": 0,
        "visits-TOTAL_FORMS": 0,
        "visits-INITIAL_FORMS": 0,
    }

    response = client.post(f"/admin/members/member/{member.pk}/change/", form)

    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = AuditEntry.objects.get(action="change", target_id=str(member.pk))
    assert entry.actor == user
    assert entry.before == {"birthday": "1992-05-20"} and entry.after == {"birthday": "1992-06-20"}


def test_export_masks_phones_without_the_permission(client, members):
    hq(client, roles.MARKETING)

    response = client.post(
        "/admin/members/member/",
        {"action": "export_csv", "_selected_action": [m.pk for m in members]},
    )

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response["Content-Type"].startswith("text/csv")
    assert "139****5678" in text and "13912345678" not in text
    assert len(text.strip().splitlines()) == 4


def test_tag_action_asks_for_the_tag_then_tags(hq_client, members):
    tag = Tag.objects.create(name="VIP")
    ids = [members[0].pk, members[1].pk]

    page = hq_client.post(
        "/admin/members/member/", {"action": "tag_members", "_selected_action": ids}
    )
    assert page.status_code == 200 and "VIP" in page.content.decode()

    hq_client.post(
        "/admin/members/member/",
        {"action": "tag_members", "_selected_action": ids, "apply": "1", "tag": tag.pk},
    )
    assert set(MemberTag.objects.values_list("member_id", flat=True)) == set(ids)


def test_merge_action(hq_client, members):
    keep, drop = members[0], members[1]
    ids = [keep.pk, drop.pk]

    hq_client.post(
        "/admin/members/member/",
        {
            "action": "merge_two",
            "_selected_action": ids,
            "apply": "1",
            "survivor": keep.pk,
            "reason": "同一人",
        },
    )

    drop.refresh_from_db()
    assert drop.status == Member.Status.MERGED and drop.merged_into == keep


def test_merge_action_needs_exactly_two(hq_client, members):
    response = hq_client.post(
        "/admin/members/member/",
        {"action": "merge_two", "_selected_action": [m.pk for m in members]},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == ["请只选择两位会员进行合并。"]
    assert Member.objects.filter(status=Member.Status.MERGED).count() == 0


def test_segment_preview_counts_without_saving(hq_client, members):
    store = StoreFactory()
    for member in members[:2]:
        member.home_store = store
        member.save()

    response = hq_client.get("/admin/members/segment/preview/", {"home_stores": [store.pk]})
    bad = hq_client.get("/admin/members/segment/preview/", {"birthday_month": 13})

    assert response.json() == {"count": 2, "text": "当前符合条件的会员：2 人。"}
    assert bad.status_code == 400 and "birthday_month" in bad.json()["errors"]
    assert Segment.objects.count() == 0


def test_saved_segment_shows_its_count_and_exports(hq_client, members):
    segment = Segment.objects.create(name="全部")

    page = hq_client.get(f"/admin/members/segment/{segment.pk}/change/")
    export = hq_client.post(
        "/admin/members/segment/", {"action": "export_members", "_selected_action": [segment.pk]}
    )

    assert page.context["preview_count"] == 3
    assert len(b"".join(export.streaming_content).decode("utf-8-sig").strip().splitlines()) == 4


@pytest.mark.parametrize("page", ["/admin/coupons/coupon/", "/admin/orders/order/"])
def test_other_pages_find_nothing_by_a_members_phone_without_the_permission(client, members, page):
    from apps.coupons.issuing import coupon_claim
    from apps.orders.checkout import Checkout, order_place_paid
    from apps.orders.pricing import LineInput
    from tests.coupons.factories import CouponTemplateFactory

    coupon_claim(template=CouponTemplateFactory(), member=members[0])
    order_place_paid(
        checkout=Checkout(
            store=StoreFactory(),
            channel="pos",
            member=members[0],
            lines=[LineInput(sku="X", quantity=1, unit_price=Decimal("10.00"))],
        ),
        external_id="P-1",
    )
    hq(client, roles.FINANCE)  # sees coupons and orders, not phones

    blind = client.get(page, {"q": "13912345678"})
    hq(client, roles.CUSTOMER_SERVICE)
    found = client.get(page, {"q": "13912345678"})

    assert len(blind.context["cl"].result_list) == 0
    assert len(found.context["cl"].result_list) == 1
    entry = AuditEntry.objects.get(action="member.phone_search")
    assert entry.after == {"term": "139****5678"}
