"""PIPL: a member downloads their data and closes their account."""

import csv
import io
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.models import CharField, JSONField, TextField
from django.db.models.functions import Cast
from django.test.utils import CaptureQueriesContext

from apps.core.models import AuditEntry, Event
from apps.coupons.issuing import coupon_claim
from apps.coupons.models import IssueBatch
from apps.marketing.outbox import messages_queue
from apps.members.addresses import address_save
from apps.members.credentials import (
    member_code_issue,
    member_code_spend,
    member_otp_send,
    sms_code_send,
)
from apps.members.imports import (
    member_import_check,
    member_import_report,
    member_import_run,
    member_import_upload,
)
from apps.members.models import Member, MemberIdentity, MemberTag, SmsCode, StoreVisit, Tag
from apps.members.services import (
    member_consent_set,
    member_delete,
    member_identity_link,
    member_join_or_find,
    member_merge,
    member_phone_reveal,
)
from apps.orders.checkout import Checkout, order_place_paid
from apps.orders.fulfilment import delivery_ship
from apps.orders.models import Fulfilment
from apps.orders.pricing import LineInput
from apps.points.services import points_adjust, points_earn
from apps.tiers.models import Tier
from apps.tiers.services import growth_earn
from tests.core.factories import UserFactory
from tests.coupons.factories import CouponTemplateFactory
from tests.marketing.factories import MessageTemplateFactory
from tests.members.factories import MemberFactory, member_client
from tests.orders.factories import online_order, stocked
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_export_contains_my_data_and_nobody_elses(api_client):
    store = StoreFactory(name="上海恒隆店")
    me = MemberFactory(phone="13912345678", name="林晓", home_store=store)
    other = MemberFactory(phone="13700000001", name="王芳", home_store=store)
    member_identity_link(member=me, kind="wechat_openid", value="openid-me")
    member_identity_link(member=other, kind="wechat_openid", value="openid-other")
    StoreVisit.objects.create(member=me, store=store)
    StoreVisit.objects.create(member=other, store=store)

    response = member_client(api_client, me).get("/api/v1/me/export")

    assert response.status_code == 200
    data = response.json()
    assert data["member"]["phone"] == "13912345678" and data["member"]["name"] == "林晓"
    assert data["identities"] == [
        {
            "channel": "wechat_openid",
            "id": "openid-me",
            "linked_at": data["identities"][0]["linked_at"],
        }
    ]
    assert len(data["store_visits"]) == 1
    text = response.content.decode()
    assert "13700000001" not in text and "王芳" not in text and "openid-other" not in text


def test_deleting_the_account_erases_personal_data_and_keeps_history(
    api_client, django_capture_on_commit_callbacks
):
    store = StoreFactory()
    me = MemberFactory(phone="13912345678", name="林晓", birthday="1990-01-01", home_store=store)
    member_identity_link(member=me, kind="wechat_openid", value="openid-me")
    StoreVisit.objects.create(member=me, store=store)
    client = member_client(api_client, me)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete("/api/v1/me")

    assert response.status_code == 204
    me.refresh_from_db()
    assert (me.phone, me.name, me.birthday, me.status) == (None, "", None, Member.Status.DELETED)
    assert not MemberIdentity.objects.filter(member=me).exists()
    assert StoreVisit.objects.filter(member=me).count() == 1  # history keeps its shape
    assert client.get("/api/v1/me").status_code == 401  # the session ended with the account
    assert AuditEntry.objects.filter(action="member.delete", target_id=str(me.pk)).exists()
    assert Event.objects.filter(name="member_deleted").count() == 1


def test_the_phone_can_join_again_as_a_new_member_after_deletion(api_client):
    me = MemberFactory(phone="13800000000")
    member_client(api_client, me).delete("/api/v1/me")

    member, created = member_join_or_find(phone="13800000000", source="miniprogram")

    assert created and member.pk != me.pk


# What else held the member, forgotten when the account closes


def _text_columns_holding(*needles: str) -> list[str]:
    """Every text column of every model (JSON as its text) that holds one of `needles`.
    Uploaded files (binary) are not text: they go with the retention job."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, CharField | TextField):
                rows, column = model._base_manager.all(), field.name
            elif isinstance(field, JSONField):
                rows = model._base_manager.annotate(as_text=Cast(field.name, TextField()))
                column = "as_text"
            else:
                continue
            for needle in needles:
                if rows.filter(**{f"{column}__contains": needle}).exists():
                    found.append(f"{model._meta.label}.{field.name} holds {needle}")
    return found


@pytest.fixture
def traced(api_client, hq_user, django_capture_on_commit_callbacks):
    """A member whose phone and name reached sign-in codes, an import report, and audit
    entries about them (a phone reveal, a points adjustment, a merge), with someone else's
    traces beside theirs."""
    me = MemberFactory(phone="13912345678", name="林晓明")
    other = MemberFactory(phone="13700000001", name="王芳芳")
    twin = MemberFactory(phone="13912345000", name="林晓明")  # merged into me below
    sms_code_send(phone=me.phone)
    sms_code_send(phone=other.phone)
    address_save(
        member=me, name="林晓明", phone=me.phone, region="浙江省/杭州市", detail="文三路 1 号"
    )
    upload = member_import_upload(
        file_name="youzan.csv",
        content="手机号,姓名\n13912345678,林晓明\n13700000001,王芳芳\n13600000002,新会员\n".encode(),
        platform="youzan",
    )
    member_import_check(import_id=upload.pk)
    with django_capture_on_commit_callbacks(execute=True):
        member_import_run(import_id=upload.pk)
    member_phone_reveal(member=me, actor=hq_user)
    member_phone_reveal(member=other, actor=hq_user)
    points_adjust(member=me, amount=100, reason="客诉补偿", actor=hq_user, key="adj-1")
    messages_queue(
        template=MessageTemplateFactory(purpose="transactional", body="{name}，您好"),
        member_ids=[me.pk, other.pk, twin.pk],
        cause_kind="test",
        cause_id=1,
    )
    with django_capture_on_commit_callbacks(execute=True):  # the inbox follows the merge
        member_merge(survivor=me, merged=twin, actor=hq_user, reason="同一人，来电 13912345678")
    # What the console writes to a record's history when HQ edits it
    LogEntry.objects.log_actions(hq_user.pk, [me], CHANGE, change_message="[]", single_object=True)
    IssueBatch.objects.create(
        name="老客名单",
        template=CouponTemplateFactory(claimable=False),
        phones="13912345678,林晓明\n13700000001,王芳芳",
    )
    me.refresh_from_db()
    return {"me": me, "other": other, "import": upload}


def test_closing_an_account_leaves_its_phone_and_name_in_no_table(
    api_client, traced, django_capture_on_commit_callbacks
):
    me = traced["me"]
    assert _text_columns_holding("13912345678", "林晓明")  # the traces are there before

    with django_capture_on_commit_callbacks(execute=True):  # and the handlers of its event
        member_client(api_client, me).delete("/api/v1/me")

    assert _text_columns_holding("13912345678", "林晓明") == []


def test_closing_an_account_forgets_where_its_parcels_went_once_they_left(
    django_capture_on_commit_callbacks,
):
    store, me, other = StoreFactory(), MemberFactory(name="林晓明"), MemberFactory(name="王芳芳")
    stocked("TEE")
    received, waiting = _parcel(store, me, shipped=True), _parcel(store, me, shipped=False)
    theirs = _parcel(store, other, shipped=True)

    with django_capture_on_commit_callbacks(execute=True):
        member_delete(member=me)

    def recipient(order):
        return Fulfilment.objects.values_list(
            "recipient", "recipient_phone", "region", "address"
        ).get(pk=order.pk)

    assert recipient(received) == ("", "", "浙江省/杭州市", "***")
    assert recipient(waiting) == ("林晓明", me.phone, "浙江省/杭州市", "林晓明收")  # to ship yet
    assert recipient(theirs) == ("王芳芳", other.phone, "浙江省/杭州市", "王芳芳收")
    delivery_ship(order_id=waiting.pk, ship_from=None, carrier="EMS", tracking_no="E2", actor="t")
    assert recipient(waiting) == ("", "", "浙江省/杭州市", "***")
    assert Fulfilment.objects.get(pk=waiting.pk).tracking_no == "E2"


def _parcel(store, member, *, shipped: bool):
    """A delivery to `member` themselves, shipped or still to ship."""
    order = online_order(store=store, member=member, kind="delivery", items=[("TEE", 1)])
    Fulfilment.objects.filter(pk=order.pk).update(
        recipient=member.name,
        recipient_phone=member.phone,
        region="浙江省/杭州市",
        address=f"{member.name}收",
    )
    if shipped:
        delivery_ship(order_id=order.pk, ship_from=None, carrier="EMS", tracking_no="E1", actor="t")
    return order


def test_closing_an_account_removes_its_sign_in_codes_only(traced):
    member_delete(member=traced["me"])

    assert list(SmsCode.objects.values_list("phone", flat=True)) == ["13700000001"]


def test_closing_an_account_blanks_its_rows_in_import_reports_and_keeps_the_rest(traced):
    me = traced["me"]

    member_delete(member=me)

    rows = csv.reader(
        io.StringIO(member_import_report(traced["import"], full_phones=True).lstrip("\ufeff"))
    )
    assert list(rows)[1:] == [
        ["2", "", "", "已合并", "", str(me.pk)],
        ["3", "13700000001", "王芳芳", "已合并", "", str(traced["other"].pk)],
        ["4", "13600000002", "新会员", "新建", "", str(Member.objects.get(name="新会员").pk)],
    ]


def test_closing_an_account_anonymises_audit_entries_and_keeps_them(traced):
    me, other = traced["me"], traced["other"]
    count = AuditEntry.objects.count()

    member_delete(member=me)

    assert AuditEntry.objects.count() == count + 1  # the deletion itself, nothing removed
    mine = AuditEntry.objects.filter(target_id=str(me.pk)).order_by("pk")
    assert [(e.action, e.target_label) for e in mine] == [
        ("member.phone_reveal", f"#{me.pk}"),
        ("points.adjust", f"#{me.pk}"),
        ("member.merge", f"#{me.pk}"),
        ("member.delete", f"#{me.pk}"),
    ]
    merge = mine[2]
    assert merge.reason == "同一人，来电 ***"
    assert merge.before["survivor"]["name"] == "***" and merge.before["merged"]["name"] == "***"
    assert merge.before["survivor"]["phone"] == "***"
    theirs = AuditEntry.objects.get(action="member.phone_reveal", target_id=str(other.pk))
    assert theirs.target_label == "王芳芳 137****0001"  # someone else's entry is untouched


def test_closing_an_account_twice_changes_nothing_more(traced):
    member_delete(member=traced["me"])
    entries = list(AuditEntry.objects.values_list("pk", "target_label", "before", "reason"))

    member_delete(member=traced["me"])

    assert list(AuditEntry.objects.values_list("pk", "target_label", "before", "reason")) == (
        entries
    )


def test_hq_closes_an_account_in_the_console_and_cannot_delete_a_member_outright(
    hq_client, hq_user, traced
):
    me = traced["me"]

    page = hq_client.post(
        "/admin/members/member/",
        {"action": "close_accounts", "_selected_action": [me.pk]},
    )
    closed = hq_client.post(
        "/admin/members/member/",
        {"action": "close_accounts", "_selected_action": [me.pk], "apply": "1", "confirm": "on"},
    )

    assert page.status_code == 200 and "无法撤销" in page.content.decode()
    assert closed.status_code == 302
    me.refresh_from_db()
    assert (me.status, me.phone, me.name) == (Member.Status.DELETED, None, "")
    assert AuditEntry.objects.get(action="member.delete").actor == hq_user
    assert hq_client.get(f"/admin/members/member/{me.pk}/delete/").status_code == 403


def test_closing_accounts_in_the_console_needs_the_delete_permission(client, traced):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(
        Permission.objects.get(codename="view_member"),
        Permission.objects.get(codename="change_member"),
    )
    client.force_login(staff)

    response = client.post(
        "/admin/members/member/",
        {
            "action": "close_accounts",
            "_selected_action": [traced["me"].pk],
            "apply": "1",
            "confirm": "on",
        },
    )

    assert response.status_code in (200, 302)
    assert Member.objects.get(pk=traced["me"].pk).status == Member.Status.ACTIVE
    assert not AuditEntry.objects.filter(action="member.delete").exists()


# me/export holds everything Huiji keeps about the member


@pytest.fixture
def rich_member(db):
    """A member with something in every part of the export."""
    store = StoreFactory(name="上海恒隆店")
    for code, rank, threshold in (("normal", 0, 0), ("silver", 1, 100)):
        Tier.objects.create(code=code, name=f"{code} 会员", rank=rank, growth_threshold=threshold)
    me = MemberFactory(phone="13912345678", name="林晓", home_store=store)
    referred = MemberFactory(referrer=me)
    member_identity_link(member=me, kind="wechat_openid", value="openid-me")
    member_consent_set(member=me, consent=True, channel="miniprogram")
    MemberTag.objects.create(member=me, tag=Tag.objects.create(name="高价值"))
    StoreVisit.objects.create(member=me, store=store)
    growth_earn(
        member=me, amount=150, key="g-1", kind="action", cause_kind="admin", description="开卡"
    )
    points_earn(
        member=me, amount=300, key="p-1", cause_kind="admin", description="开卡礼", pending=False
    )
    coupon_claim(template=CouponTemplateFactory(name="满100减20"), member=me)
    return {"me": me, "store": store, "referred": referred}


def place_order(member, store, number: int):
    return order_place_paid(
        checkout=Checkout(
            store=store,
            channel="pos",
            member=member,
            lines=[
                LineInput(sku="SKU1", name="T恤", quantity=2, unit_price=Decimal("50.00")),
                LineInput(sku="SKU2", name="袜子", quantity=1, unit_price=Decimal("19.90")),
            ],
        ),
        external_id=f"T-{number}",
    )


def test_the_export_holds_every_part_of_what_huiji_keeps(api_client, rich_member):
    me, store = rich_member["me"], rich_member["store"]
    order = place_order(me, store, 1)
    code, _expires = member_code_issue(member=me)
    member_code_spend(code=code, store=store)
    member_otp_send(member=me, store=store)
    client = member_client(api_client, me)

    data = client.get("/api/v1/me/export").json()

    assert (data["member"]["phone"], data["member"]["home_store"]) == ("13912345678", "上海恒隆店")
    assert (data["consent"]["marketing"], data["consent"]["channel"]) == (True, "miniprogram")
    assert [i["id"] for i in data["identities"]] == ["openid-me"]
    assert [t["tag"] for t in data["tags"]] == ["高价值"]
    assert [v["store"] for v in data["store_visits"]] == ["上海恒隆店"]
    assert data["referrals"] == {
        "my_referral_code": me.referral_code,
        "referred_by_code": None,
        "members_i_referred": 1,
    }
    assert len(data["sign_ins"]) == 1 and set(data["sign_ins"][0]) == {
        "at",
        "expires_at",
        "ended_at",
    }
    assert [u["store"] for u in data["member_codes_used"]] == ["上海恒隆店"]
    assert [(o["store"], o["used_at"]) for o in data["codes_texted_by_stores"]] == [
        ("上海恒隆店", None)
    ]
    assert data["tier"]["tier"]["code"] == "silver"
    assert [(g["amount"], g["description"]) for g in data["tier"]["growth_entries"]] == [
        (150, "开卡"),
        (119, f"订单 {order.order_no} 消费成长值"),
    ]
    assert data["points"]["available"] == 300
    assert (300, "开卡礼") in [(e["amount"], e["description"]) for e in data["points"]["entries"]]
    assert [(c["title"], c["status"]) for c in data["coupons"]] == [("满100减20", "available")]
    [exported] = data["orders"]
    assert (exported["order_no"], exported["payable"]) == (order.order_no, str(order.payable))
    assert [(line["sku"], line["quantity"]) for line in exported["lines"]] == [
        ("SKU1", 2),
        ("SKU2", 1),
    ]


def test_the_export_holds_no_secret_and_nobody_elses_data(api_client, rich_member):
    me = rich_member["me"]
    client = member_client(api_client, me)
    token = client._credentials["HTTP_AUTHORIZATION"].split()[1]

    text = client.get("/api/v1/me/export").content.decode()

    assert token not in text and "key_hash" not in text
    assert rich_member["referred"].phone not in text and rich_member["referred"].name not in text


def test_the_export_costs_the_same_queries_for_one_order_or_many(
    api_client, rich_member, django_assert_max_num_queries
):
    me, store = rich_member["me"], rich_member["store"]
    place_order(me, store, 1)
    client = member_client(api_client, me)
    with CaptureQueriesContext(connection) as one_order:
        client.get("/api/v1/me/export")
    for number in range(2, 7):
        place_order(me, store, number)

    with django_assert_max_num_queries(len(one_order)):
        response = client.get("/api/v1/me/export")

    assert len(response.json()["orders"]) == 6


def test_every_table_that_points_at_a_member_is_in_the_export_or_says_why_not():
    in_export = {
        "members.MemberIdentity": "identities",
        "members.StoreVisit": "store_visits",
        "members.MemberTag": "tags",
        "members.MemberToken": "sign_ins",
        "members.MemberCode": "member_codes_used",
        "members.MemberOtp": "codes_texted_by_stores",
        "members.Address": "addresses",
        "members.Member": "referrals",
        "tiers.MemberTier": "tier",
        "tiers.GrowthEntry": "tier.growth_entries",
        "tiers.TierChange": "tier.tier_changes",
        "points.Entry": "points.entries",
        "coupons.Coupon": "coupons",
        "orders.Order": "orders",
        "orders.Cart": "cart",
        "marketing.Message": "messages",
        "marketing.WechatSubscription": "wechat_subscriptions",
        "members.PromoterBinding": "promoter_bindings",
        "members.StoreBinding": "store_bindings",
        "referrals.Promoter": "promoter",
        "referrals.Referral": "referral.as_friend",
        "referrals.ReferralReward": "referral.rewards",
    }
    not_in_export = {
        "points.Account": "its balance is points.available",
        "points.Lot": "the same points as the entries, split for expiry: points.expiring",
        "points.RuleUsage": "counters of earning-rule limits, derived from the entries",
        "points.ManualAction": "HQ's approval of manual points: what moved is in points.entries",
        "referrals.ReferrerBlock": "HQ's anti-fraud list: its effect shows as rewards pending",
    }
    pointing = {
        model._meta.label
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is Member
    }

    assert pointing == set(in_export) | set(not_in_export)
