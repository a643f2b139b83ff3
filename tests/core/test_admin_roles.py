"""Who may do what in the HQ console: every HQ role through every console page and action.

The pages come from the admin site's registry, so a new page is walked too: it is expected
closed to every role until a row below says otherwise. Then: only a superuser gives
power (permissions, groups, staff, superuser, passwords), even to a crafted request."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from apps.analytics.services import rollup_day
from apps.core import roles
from apps.core.audit import snapshot
from apps.core.models import AuditEntry, Event, User
from apps.coupons.issuing import coupon_claim
from apps.coupons.models import IssueBatch
from apps.mall.models import Sku, Stock
from apps.mall.stock import stock_reserve
from apps.marketing.models import MessageTemplate
from apps.marketing.outbox import messages_queue
from apps.members.attribution import promoter_bind
from apps.members.models import Segment, Tag
from apps.orders.checkout import Checkout, order_place_paid
from apps.orders.models import OnlineShare, RefundRequest
from apps.orders.pricing import LineInput
from apps.points.manual import manual_adjust_request
from apps.points.models import EarningRule
from apps.points.services import points_earn
from apps.referrals.commissions import commissions_release_due, commissions_write
from apps.referrals.models import (
    CommissionRule,
    Promoter,
    ReferralFlag,
    ReferralRule,
    ReferrerBlock,
)
from apps.referrals.rewards import referral_record
from apps.referrals.withdrawals import withdrawal_request
from apps.stores.services import pos_key_create
from tests.core.factories import UserFactory
from tests.coupons.factories import CouponTemplateFactory
from tests.distributors.factories import DistributorFactory
from tests.mall.factories import SkuFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db

# What each role may do on each console page: v(iew), a(dd), c(hange: save a record's
# page), d(elete), and the exact actions its list offers. A page missing from a role's
# table is closed to it.
EXPECTED = {
    roles.OPERATIONS: {
        "analytics.dailystorerollup": ("v", []),
        "analytics.storeflagrule": ("vc", []),
        "core.auditentry": ("v", []),
        "core.event": ("v", ["retry_now"]),  # the action retries; an event is never edited
        "core.user": ("vac", []),
        "coupons.coupon": ("v", []),
        "coupons.coupontemplate": ("vac", ["withdraw"]),
        "coupons.issuebatch": ("vac", ["start"]),
        "distributors.distributor": ("vac", []),
        "distributors.region": ("vac", []),
        "mall.category": ("vac", []),
        "mall.product": ("vac", []),
        "mall.reservation": ("v", []),
        "mall.sku": ("vac", []),
        "mall.stock": ("vac", []),
        "marketing.message": ("v", []),
        "marketing.messagetemplate": ("vac", []),
        "members.member": ("vc", ["export_csv", "merge_two", "tag_members"]),
        "members.segment": ("vac", ["export_members"]),
        "members.tag": ("vac", ["refresh_rule_tags"]),
        "orders.fulfilment": ("v", []),  # and ships the warehouse's parcels (its own page)
        "orders.latepayment": ("v", []),
        "orders.order": ("v", []),
        "orders.shippingrule": ("vac", []),
        "orders.refundrequest": ("v", ["approve_refund", "refuse_refund"]),
        "points.account": ("v", []),
        "points.earningrule": ("vac", []),
        "points.entry": ("v", ["void"]),
        "points.manualaction": ("v", ["approve", "reject"]),
        "points.manualactioncap": ("v", []),
        "referrals.commission": ("v", []),
        "referrals.commissionentry": ("v", []),
        "referrals.commissionrule": ("vac", []),
        "referrals.promoter": ("v", ["approve", "refuse", "reinstate", "suspend"]),
        "referrals.referral": ("v", ["clear_flags", "refuse_referral"]),
        "referrals.referralreward": ("v", []),
        "referrals.referralrule": ("vac", []),
        "referrals.referrerblock": ("vad", ["delete_selected"]),
        "referrals.withdrawal": ("v", []),
        "stores.posapikey": ("vac", ["revoke"]),
        "stores.staff": ("vacd", ["delete_selected"]),
        "stores.store": ("vac", []),
        "tiers.growthentry": ("v", []),
        "tiers.membertier": ("v", []),
        "tiers.tier": ("vac", []),
        "tiers.tierchange": ("v", []),
    },
    roles.MARKETING: {
        "analytics.dailystorerollup": ("v", []),
        "coupons.coupon": ("v", []),
        "coupons.coupontemplate": ("vac", ["withdraw"]),
        "coupons.issuebatch": ("vac", ["start"]),
        "distributors.distributor": ("v", []),
        "distributors.region": ("v", []),
        "mall.category": ("vac", []),
        "mall.product": ("vac", []),
        "mall.sku": ("vac", []),
        "mall.stock": ("v", []),
        "marketing.message": ("v", []),
        "marketing.messagetemplate": ("vac", []),
        "members.member": ("v", ["export_csv"]),
        "members.segment": ("vacd", ["delete_selected", "export_members"]),
        "members.tag": ("vac", ["refresh_rule_tags"]),
        "orders.order": ("v", []),
        "points.earningrule": ("vacd", ["delete_selected"]),
        "stores.store": ("v", []),
        "tiers.membertier": ("v", []),
        "tiers.tier": ("v", []),
        "tiers.tierchange": ("v", []),
    },
    roles.FINANCE: {
        "analytics.dailystorerollup": ("v", []),
        "analytics.storeflagrule": ("v", []),
        "core.auditentry": ("v", []),
        "coupons.coupon": ("v", []),
        "coupons.coupontemplate": ("v", []),
        "distributors.distributor": ("v", []),
        "distributors.region": ("v", []),
        "mall.category": ("v", []),
        "mall.product": ("v", []),
        "orders.fulfilment": ("v", []),
        "mall.reservation": ("v", []),
        "mall.sku": ("v", []),
        "mall.stock": ("v", []),
        "orders.latepayment": ("v", []),
        "orders.onlineshare": ("vad", []),
        "orders.order": ("v", []),
        "orders.shippingrule": ("v", []),
        "points.account": ("v", []),
        "points.earningrule": ("v", []),
        "points.entry": ("v", []),
        "points.manualaction": ("v", ["approve", "reject"]),
        "points.manualactioncap": ("v", []),
        "referrals.commission": ("v", []),
        "referrals.commissionaccount": ("v", []),
        "referrals.commissionentry": ("v", []),
        "referrals.commissionrule": ("v", []),
        "referrals.promoter": ("v", []),
        "referrals.withdrawal": ("v", ["approve_withdrawal", "refuse_withdrawal"]),
        "stores.store": ("v", []),
    },
    roles.CUSTOMER_SERVICE: {
        "core.user": ("v", []),
        "coupons.coupon": ("v", []),
        "coupons.coupontemplate": ("v", []),
        "distributors.distributor": ("v", []),
        "mall.category": ("v", []),
        "mall.product": ("v", []),
        "mall.sku": ("v", []),
        "mall.stock": ("v", []),
        "marketing.message": ("v", []),
        "marketing.messagetemplate": ("v", []),
        "members.member": ("vc", ["export_csv", "merge_two", "tag_members"]),
        "members.tag": ("v", []),
        "orders.fulfilment": ("v", []),
        "orders.order": ("v", []),
        "orders.refundrequest": ("v", ["approve_refund", "refuse_refund"]),
        "points.entry": ("v", ["void"]),
        "points.manualaction": ("v", []),
        "referrals.commission": ("v", []),
        "referrals.promoter": ("v", []),
        "referrals.referral": ("v", []),
        "referrals.referralreward": ("v", []),
        "stores.staff": ("v", []),
        "stores.store": ("v", []),
        "tiers.growthentry": ("v", []),
        "tiers.membertier": ("v", []),
        "tiers.tier": ("v", []),
        "tiers.tierchange": ("v", []),
    },
}
PAGES = sorted(admin.site._registry, key=lambda model: model._meta.label_lower)


def role_user(role: str, **fields) -> User:
    user = UserFactory(is_staff=True, **fields)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def world(hq_user):
    """One record of (almost) every kind the console shows."""
    store = StoreFactory(distributor=DistributorFactory())
    owner = StaffFactory(store=store).user
    member = MemberFactory(home_store=store)
    points_earn(
        member=member, amount=1000, key="w", cause_kind="admin", description="t", pending=False
    )
    template = CouponTemplateFactory()
    coupon_claim(template=template, member=member)
    IssueBatch.objects.create(name="批次", template=template, phones="13900000000")
    promoter = Promoter.objects.create(member=MemberFactory(), status="approved")
    promoter_bind(member=member, promoter=promoter.member, source="link", now=timezone.now())
    CommissionRule.objects.create(name="默认", scope="default", mode="rate", level1=10)
    order = order_place_paid(
        checkout=Checkout(
            store=store,
            channel="pos",
            member=member,
            lines=[LineInput(sku="X", quantity=1, unit_price=Decimal("10.00"))],
        ),
        external_id="W-1",
    )
    commissions_write(order_id=order.pk)
    commissions_release_due(now=timezone.now() + timedelta(days=30))
    withdrawal_request(promoter=promoter, amount=Decimal("1.00"), key="w")
    ReferralRule.objects.create(name="老带新", referrer_points=10)
    friend = MemberFactory(referrer=member)
    referral = referral_record(referee_id=friend.pk, referrer_id=member.pk)
    ReferralFlag.objects.create(referral=referral, reason="same_address")
    ReferrerBlock.objects.create(member=promoter.member, reason="刷单")
    RefundRequest.objects.create(order=order, amount=Decimal("1.00"), reason="other")
    manual_adjust_request(member=member, points=10, reason="w", actor=hq_user, key="w-adj")
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    Tag.objects.create(name="VIP")
    Segment.objects.create(name="全部")
    messages_queue(
        template=MessageTemplate.objects.create(name="会员日", channel="inbox", body="{name}"),
        member_ids=[member.pk],
        cause_kind="world",
        cause_id=1,
    )
    SkuFactory(sku="SKU1", name="面霜", price=Decimal("99.00"))
    # not yet in force: finance may still delete it; no one edits a share
    tomorrow = timezone.localdate() + timedelta(days=1)
    OnlineShare.objects.create(category="护肤", percent=Decimal("10"), valid_from=tomorrow)
    Stock.objects.create(sku=Sku.objects.get(sku="SKU1"), on_hand=5)
    stock_reserve(order_id=1, store=None, items=[("SKU1", 1)])
    pos_key_create(store=store, name="till")
    rollup_day(timezone.localdate())
    AuditEntry.objects.create(action="test")
    Event.objects.create(name="order_paid", payload={}, next_attempt_at=timezone.now())
    return {"owner": owner}


def an_instance(model, world):
    if model is User:
        return world["owner"]  # an account HQ roles may look after: not an HQ account
    return model.objects.order_by("pk").first()


def url(model, name: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{name}", args=args)


def fingerprint(instance) -> tuple:
    fresh = type(instance).objects.filter(pk=instance.pk).first()
    return AuditEntry.objects.count(), fresh and snapshot(fresh)


def test_every_console_page_has_its_expectations_reviewed():
    """A row naming a page that no longer exists is a mistake in the table."""
    labels = {model._meta.label_lower for model in PAGES}

    for table in EXPECTED.values():
        assert set(table) <= labels


@pytest.mark.parametrize("role", roles.HQ_ROLES)
@pytest.mark.parametrize("model", PAGES, ids=lambda model: model._meta.label_lower)
def test_each_role_on_each_console_page(client, world, role, model):
    letters, actions = EXPECTED[role].get(model._meta.label_lower, ("", []))
    client.force_login(role_user(role))
    instance = an_instance(model, world)

    changelist = client.get(url(model, "changelist"))
    add = client.get(url(model, "add"))

    assert changelist.status_code == (200 if "v" in letters else 403)
    assert add.status_code == (200 if "a" in letters else 403)
    if "v" in letters:
        form = changelist.context["action_form"]  # None when no action is offered
        offered = [name for name, _label in form.fields["action"].choices] if form else []
        assert sorted(filter(None, offered)) == actions
    if instance is None:
        return
    change = client.get(url(model, "change", instance.pk))
    delete = client.get(url(model, "delete", instance.pk))
    assert change.status_code == (200 if "v" in letters else 403)
    assert delete.status_code == (200 if "d" in letters else 403)
    if "v" in letters:
        assert ('name="_save"' in change.content.decode()) is ("c" in letters)
    if "c" not in letters:
        before = fingerprint(instance)
        assert client.post(url(model, "change", instance.pk), {}).status_code == 403
        assert fingerprint(instance) == before
    every_action = {name for _func, name, _label in admin.site._registry[model]._get_base_actions()}
    for action in sorted(every_action - set(actions)):
        before = fingerprint(instance)
        refused = client.post(
            url(model, "changelist"), {"action": action, "_selected_action": [instance.pk]}
        )
        # the list again with "no action selected", or no list at all; never a download
        assert refused.status_code in (200, 302, 403)
        assert not refused.has_header("Content-Disposition")
        assert fingerprint(instance) == before


# Only a superuser gives power.

PROFILE = {
    "username": "owner_x",
    "last_name": "王",
    "first_name": "芳",
    "is_active": "on",
    "date_joined_0": "2026-01-01",
    "date_joined_1": "10:00:00",
}


def test_operations_cannot_make_itself_superuser(client):
    ops = role_user(roles.OPERATIONS, username="ops")
    client.force_login(ops)

    response = client.post(
        f"/admin/core/user/{ops.pk}/change/",
        {**PROFILE, "username": "ops", "is_staff": "on", "is_superuser": "on"},
    )

    assert response.status_code == 403
    ops.refresh_from_db()
    assert (ops.is_superuser, ops.is_staff) == (False, True)
    assert not AuditEntry.objects.filter(target_id=str(ops.pk)).exists()


@pytest.mark.parametrize(
    "crafted",
    [
        {"is_staff": "on"},
        {"is_superuser": "on"},
        {"groups": "GROUP"},
        {"user_permissions": "PERMISSION"},
    ],
    ids=lambda crafted: next(iter(crafted)),
)
def test_a_crafted_post_cannot_give_a_store_owner_power(client, crafted):
    owner = UserFactory(username="owner_x", last_name="")
    group = Group.objects.get(name=roles.OPERATIONS)
    permission = Permission.objects.get(codename="change_user")
    value = {"GROUP": group.pk, "PERMISSION": permission.pk}.get(*crafted.values(), "on")
    client.force_login(role_user(roles.OPERATIONS))

    response = client.post(
        f"/admin/core/user/{owner.pk}/change/", {**PROFILE, next(iter(crafted)): value}
    )

    assert response.status_code == 403
    owner.refresh_from_db()
    assert (owner.is_staff, owner.is_superuser, owner.last_name) == (False, False, "")
    assert not owner.groups.exists() and not owner.user_permissions.exists()


def test_a_crafted_add_cannot_make_a_staff_account(client):
    client.force_login(role_user(roles.OPERATIONS))

    response = client.post(
        "/admin/core/user/add/",
        {
            "username": "sneaky",
            "usable_password": "true",
            "password1": "a-New-pass-2026",
            "password2": "a-New-pass-2026",
            "is_staff": "on",
            "is_superuser": "on",
        },
    )

    assert response.status_code == 403
    assert not User.objects.filter(username="sneaky").exists()


def test_operations_looks_after_a_store_owners_account_without_the_permission_fields(client):
    owner = UserFactory(username="owner_x", last_name="")
    client.force_login(role_user(roles.OPERATIONS))

    page = client.get(f"/admin/core/user/{owner.pk}/change/")
    saved = client.post(f"/admin/core/user/{owner.pk}/change/", PROFILE)

    form_fields = set(page.context["adminform"].form.fields)
    assert not form_fields & {"is_staff", "is_superuser", "groups", "user_permissions"}
    assert "password" not in form_fields
    assert saved.status_code == 302
    owner.refresh_from_db()
    assert owner.last_name == "王" and not owner.is_staff


def test_operations_creates_a_plain_account(client):
    client.force_login(role_user(roles.OPERATIONS))

    response = client.post(
        "/admin/core/user/add/",
        {
            "username": "owner_new",
            "usable_password": "true",
            "password1": "a-New-pass-2026",
            "password2": "a-New-pass-2026",
        },
    )

    assert response.status_code == 302
    made = User.objects.get(username="owner_new")
    assert (made.is_staff, made.is_superuser, made.groups.count()) == (False, False, 0)


@pytest.mark.parametrize("role", roles.HQ_ROLES)
def test_no_role_changes_an_hq_account(client, role):
    colleague = role_user(roles.FINANCE, username="finance_1", last_name="李")
    client.force_login(role_user(role))

    response = client.post(
        f"/admin/core/user/{colleague.pk}/change/", {**PROFILE, "username": "finance_1"}
    )

    assert response.status_code == 403
    colleague.refresh_from_db()
    assert colleague.last_name == "李" and colleague.is_active


@pytest.mark.parametrize("role", roles.HQ_ROLES)
def test_no_role_sets_another_users_password(client, role):
    owner = UserFactory(username="owner_x")
    hash_before = owner.password
    client.force_login(role_user(role))
    form = {"password1": "a-New-pass-2026", "password2": "a-New-pass-2026"}

    assert client.get(f"/admin/core/user/{owner.pk}/password/").status_code == 403
    assert client.post(f"/admin/core/user/{owner.pk}/password/", form).status_code == 403
    owner.refresh_from_db()
    assert owner.password == hash_before
    assert not AuditEntry.objects.filter(action="password.set").exists()


def test_the_superuser_sees_the_permission_fields_and_grants_a_role_audited(hq_client, hq_user):
    owner = UserFactory(username="owner_x")
    group = Group.objects.get(name=roles.FINANCE)

    page = hq_client.get(f"/admin/core/user/{owner.pk}/change/")
    saved = hq_client.post(
        f"/admin/core/user/{owner.pk}/change/",
        {**PROFILE, "is_staff": "on", "groups": [group.pk]},
    )

    assert {"is_staff", "is_superuser", "groups", "user_permissions"} <= set(
        page.context["adminform"].form.fields
    )
    assert saved.status_code == 302
    owner.refresh_from_db()
    assert owner.is_staff and list(owner.groups.all()) == [group]
    entry = AuditEntry.objects.get(action="user.permissions")
    assert (entry.actor, entry.before, entry.after) == (
        hq_user,
        {"groups": []},
        {"groups": [roles.FINANCE]},
    )


@pytest.mark.parametrize("role", roles.HQ_ROLES)
def test_no_role_edits_a_group_even_with_the_group_permission(client, role):
    user = role_user(role)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="auth", codename__in=["change_group", "view_group"]
        )
    )
    group = Group.objects.get(name=role)
    before = set(group.permissions.values_list("pk", flat=True))
    everything = list(Permission.objects.values_list("pk", flat=True))
    client.force_login(user)

    changed = client.post(
        f"/admin/auth/group/{group.pk}/change/", {"name": role, "permissions": everything}
    )
    added = client.post("/admin/auth/group/add/", {"name": "后门", "permissions": everything})

    assert (changed.status_code, added.status_code) == (403, 403)
    assert set(group.permissions.values_list("pk", flat=True)) == before
    assert not Group.objects.filter(name="后门").exists()
    assert client.get(f"/admin/auth/group/{group.pk}/change/").status_code == 200  # may read


def test_the_superuser_edits_a_group_audited(hq_client):
    group = Group.objects.get(name=roles.MARKETING)
    permission = Permission.objects.get(codename="view_auditentry")
    kept = list(group.permissions.values_list("pk", flat=True))

    response = hq_client.post(
        f"/admin/auth/group/{group.pk}/change/",
        {"name": roles.MARKETING, "permissions": [*kept, permission.pk]},
    )

    assert response.status_code == 302
    assert group.permissions.filter(pk=permission.pk).exists()
    entry = AuditEntry.objects.get(action="group.permissions")
    assert set(entry.after["permissions"]) - set(entry.before["permissions"]) == {str(permission)}
