"""The member pages of the HQ console: search, masked phones, tag, export, merge, segments."""

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
