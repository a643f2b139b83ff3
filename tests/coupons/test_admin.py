"""The coupon pages of the HQ console: statistics, batches uploaded and started."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.core import roles
from apps.coupons.issuing import coupon_claim
from apps.coupons.models import Coupon, IssueBatch
from apps.coupons.redemption import coupon_redeem, coupons_lock, coupons_use
from tests.core.factories import UserFactory
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_the_template_list_shows_issued_used_expired_rate_sales_and_cost(hq_client):
    template = CouponTemplateFactory(name="满100减20", total_stock=10, per_member_limit=5)
    member, store = MemberFactory(), StoreFactory()
    first, second, third, _fourth = (
        coupon_claim(template=template, member=member) for _ in range(4)
    )
    coupons_lock(codes=[first.code], member=member, order_id=1, store=store, channel="store")
    coupons_use(order_id=1, store=store, discounts={first.code: (Decimal(20), Decimal(150))})
    coupon_redeem(code=second.code, store=store)
    Coupon.objects.filter(pk=third.pk).update(status="expired")

    page = hq_client.get("/admin/coupons/coupontemplate/")

    template = page.context["cl"].result_list[0]
    assert (template.n_issued, template.n_claimed, template.n_used, template.n_expired) == (
        4,
        4,
        2,
        1,
    )
    assert (template.sales, template.cost) == (Decimal(150), Decimal(20))
    text = page.content.decode()
    assert "50.0%" in text and "6 / 10" in text


def test_hq_uploads_a_phone_list_and_starts_the_batch(
    hq_client, django_capture_on_commit_callbacks
):
    template = CouponTemplateFactory(claimable=False, total_stock=None)
    known = MemberFactory(phone="13912340001")
    upload = SimpleUploadedFile(
        "名单.csv", "手机号\n13912340001\n13912340002\n".encode("utf-8-sig")
    )

    created = hq_client.post(
        "/admin/coupons/issuebatch/add/",
        {"name": "老客回馈", "template": template.pk, "phones": "", "phones_file": upload},
    )
    batch = IssueBatch.objects.get()
    with django_capture_on_commit_callbacks(execute=True):  # the worker's run, in-process
        started = hq_client.post(
            "/admin/coupons/issuebatch/",
            {"action": "start", "_selected_action": [batch.pk]},
            follow=True,
        )

    assert created.status_code == 302
    batch.refresh_from_db()
    assert (batch.status, batch.targeted, batch.issued, batch.unknown) == ("done", 2, 1, 2)
    assert Coupon.objects.get().member == known
    assert "已开始发放" in started.content.decode()
    assert "<progress" in hq_client.get("/admin/coupons/issuebatch/").content.decode()


def test_a_batch_needs_a_segment_or_phones(hq_client):
    response = hq_client.post(
        "/admin/coupons/issuebatch/add/",
        {"name": "空", "template": CouponTemplateFactory().pk, "phones": ""},
    )

    assert response.status_code == 200 and not IssueBatch.objects.exists()
    assert "请选择分群或填写手机号" in response.content.decode()


def test_hq_voids_unused_coupons_and_the_used_ones_stay(hq_client):
    from apps.core.models import AuditEntry

    template = CouponTemplateFactory(per_member_limit=5)
    member, store = MemberFactory(), StoreFactory()
    unused, used = (coupon_claim(template=template, member=member) for _ in range(2))
    coupon_redeem(code=used.code, store=store)

    hq_client.post(
        "/admin/coupons/coupon/",
        {"action": "void", "_selected_action": [unused.pk, used.pk]},
    )

    statuses = dict(Coupon.objects.values_list("code", "status"))
    assert statuses == {unused.code: "void", used.code: "used"}
    audit = AuditEntry.objects.get(action="coupon.void")
    assert audit.after == {"codes": [unused.code]}


def test_hq_stops_a_drop_and_claims_are_refused_at_once(hq_client):
    from apps.coupons.errors import CouponTemplateNotFound
    from apps.coupons.selectors import template_get

    template = CouponTemplateFactory(name="闪券")
    template_get(template.pk)  # cached by the drop's first claims

    hq_client.post(
        "/admin/coupons/coupontemplate/",
        {"action": "withdraw", "_selected_action": [template.pk]},
    )

    template.refresh_from_db()
    assert template.active is False
    with pytest.raises(CouponTemplateNotFound):
        template_get(template.pk)


def test_a_batchs_phone_list_shows_masked_to_those_who_may_not_see_numbers(client):
    batch = IssueBatch.objects.create(
        name="名单", template=CouponTemplateFactory(claimable=False), phones="13912340001\n"
    )
    marketing = UserFactory(is_staff=True)
    marketing.groups.add(Group.objects.get(name=roles.MARKETING))
    client.force_login(marketing)

    page = client.get(f"/admin/coupons/issuebatch/{batch.pk}/change/").content.decode()
    renamed = client.post(
        f"/admin/coupons/issuebatch/{batch.pk}/change/",
        {"name": "老客名单", "template": batch.template_id},
    )

    assert "139****0001" in page and "13912340001" not in page
    assert renamed.status_code == 302
    batch.refresh_from_db()
    assert (batch.name, batch.phones) == ("老客名单", "13912340001\n")


def test_a_batchs_phone_list_shows_whole_to_those_who_may(hq_client):
    batch = IssueBatch.objects.create(
        name="名单", template=CouponTemplateFactory(claimable=False), phones="13912340001\n"
    )

    page = hq_client.get(f"/admin/coupons/issuebatch/{batch.pk}/change/").content.decode()

    assert "13912340001" in page
