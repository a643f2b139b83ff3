"""Manual points actions (adjustments, voids): capped per role and per day; above the cap a
second person with the permission approves before anything moves; audited both times;
each action moves its points at most once."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from apps.core import roles
from apps.core.errors import PermissionDenied
from apps.core.models import AuditEntry
from apps.points.errors import AlreadyDecided, ApprovalBySelf, NotReversible
from apps.points.manual import (
    manual_action_approve,
    manual_action_reject,
    manual_adjust_request,
    manual_cap,
    manual_void_request,
)
from apps.points.models import Entry, ManualAction, ManualActionCap
from apps.points.selectors import points_available
from apps.points.services import points_adjust, points_earn
from tests.conftest import run_together
from tests.core.factories import UserFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def person(*role_names, **fields):
    user = UserFactory(is_staff=True, **fields)
    user.groups.set(Group.objects.filter(name__in=role_names))
    return user


@pytest.fixture
def member():
    return MemberFactory(phone="13912345678", home_store=StoreFactory(code="S001"))


def adjust(member, points, actor, key):
    return manual_adjust_request(
        member=member, points=points, reason="客诉补偿", actor=actor, key=key
    )


# Refusals first.


def test_above_the_cap_nothing_moves_until_a_second_person_approves(member):
    service = person(roles.CUSTOMER_SERVICE)  # 1,000 a day

    action = adjust(member, 1500, service, "k1")

    assert action.status == ManualAction.Status.PENDING
    assert action.entry is None
    assert points_available(member) == 0
    assert not Entry.objects.filter(idempotency_key="k1").exists()
    asked = AuditEntry.objects.get(action="points.manual.request")
    assert (asked.actor, asked.after, asked.reason) == (
        service,
        {"kind": "adjust", "member": member.pk, "points": 1500},
        "客诉补偿",
    )


def test_the_requester_cannot_approve_their_own_request(member):
    ops = person(roles.OPERATIONS)  # 5,000 a day, and may approve
    action = adjust(member, 6000, ops, "k1")

    with pytest.raises(ApprovalBySelf):
        manual_action_approve(action=action, actor=ops)

    action.refresh_from_db()
    assert action.status == ManualAction.Status.PENDING
    assert points_available(member) == 0
    assert not AuditEntry.objects.filter(action="points.manual.approve").exists()


@pytest.mark.parametrize("role", [roles.CUSTOMER_SERVICE, roles.MARKETING])
def test_someone_without_the_approve_permission_cannot_approve(member, role):
    action = adjust(member, 6000, person(roles.OPERATIONS), "k1")

    with pytest.raises(PermissionDenied):
        manual_action_approve(action=action, actor=person(role))
    with pytest.raises(PermissionDenied):
        manual_action_reject(action=action, actor=person(role))

    action.refresh_from_db()
    assert action.status == ManualAction.Status.PENDING
    assert points_available(member) == 0


def test_someone_without_the_adjust_permission_cannot_ask(member):
    with pytest.raises(PermissionDenied):
        adjust(member, 10, person(roles.FINANCE), "k1")

    assert not ManualAction.objects.exists()


def test_a_rejected_request_moves_nothing_and_cannot_be_approved_after(member):
    action = adjust(member, 1500, person(roles.CUSTOMER_SERVICE), "k1")
    finance = person(roles.FINANCE)

    manual_action_reject(action=action, actor=finance)
    with pytest.raises(AlreadyDecided):
        manual_action_approve(action=action, actor=person(roles.FINANCE))

    action.refresh_from_db()
    assert (action.status, action.decided_by, action.entry) == ("rejected", finance, None)
    assert points_available(member) == 0
    assert AuditEntry.objects.filter(action="points.manual.reject", actor=finance).count() == 1


def test_a_void_of_an_adjustment_is_refused(member):
    entry = points_adjust(member=member, amount=50, reason="x", actor=None, key="a")

    with pytest.raises(NotReversible):
        manual_void_request(entry=entry, reason="x", actor=person(roles.OPERATIONS), key="v")

    assert not ManualAction.objects.exists()


# What moves.


def test_approval_by_a_second_person_moves_the_points_once_and_is_audited(member):
    service, finance = person(roles.CUSTOMER_SERVICE), person(roles.FINANCE)
    action = adjust(member, 1500, service, "k1")

    approved = manual_action_approve(action=action, actor=finance)
    again = manual_action_approve(action=action, actor=person(roles.OPERATIONS))

    assert (approved.status, approved.decided_by) == ("approved", finance)
    assert again.entry == approved.entry
    assert points_available(member) == 1500
    assert Entry.objects.filter(idempotency_key="k1").count() == 1
    assert approved.entry.created_by == service  # the ledger names who asked; the log both
    approval = AuditEntry.objects.get(action="points.manual.approve")
    assert (approval.actor, approval.after) == (
        finance,
        {"kind": "adjust", "member": member.pk, "points": 1500},
    )
    assert AuditEntry.objects.get(action="points.adjust").actor == service


def test_the_days_actions_add_up_against_the_cap_and_a_new_day_starts_afresh(member):
    service = person(roles.CUSTOMER_SERVICE)

    first = adjust(member, 600, service, "k1")
    second = adjust(member, -400, service, "k2")  # taking counts as much as giving
    third = adjust(member, 1, service, "k3")
    ManualAction.objects.filter(pk__in=[first.pk, second.pk]).update(
        requested_at=timezone.now() - timedelta(days=1)
    )
    next_day = adjust(member, 1, service, "k4")

    assert [a.status for a in (first, second, third, next_day)] == [
        "applied",
        "applied",
        "pending",
        "applied",
    ]
    assert points_available(member) == 201


def test_the_cap_is_the_largest_of_ones_roles_or_the_setting(settings):
    settings.POINTS_MANUAL_DAILY_CAP = 7
    ManualActionCap.objects.update_or_create(
        group=Group.objects.get(name=roles.FINANCE), defaults={"daily_points": 300}
    )

    assert manual_cap(person(roles.CUSTOMER_SERVICE)) == 1000
    assert manual_cap(person(roles.CUSTOMER_SERVICE, roles.OPERATIONS)) == 5000
    assert manual_cap(person(roles.FINANCE)) == 300
    assert manual_cap(person(roles.MARKETING)) == 7  # no cap of its own
    assert manual_cap(UserFactory(is_staff=True, is_superuser=True)) == 7


def test_the_same_form_sent_twice_asks_once(member):
    service = person(roles.CUSTOMER_SERVICE)

    first = adjust(member, 300, service, "k1")
    again = adjust(member, 300, service, "k1")

    assert first.pk == again.pk
    assert points_available(member) == 300
    assert ManualAction.objects.count() == 1


def test_a_void_within_the_cap_takes_back_what_is_left_of_an_earn(member):
    earned = points_earn(
        member=member, amount=800, key="e", cause_kind="admin", description="t", pending=False
    )
    service = person(roles.CUSTOMER_SERVICE)

    action = manual_void_request(entry=earned, reason="重复积分", actor=service, key="v1")

    assert (action.status, action.points, action.voids) == ("applied", -800, earned)
    assert points_available(member) == 0
    assert action.entry.reverses == earned
    assert AuditEntry.objects.get(action="points.void").after == {
        "entry": earned.pk,
        "points": -800,
    }


def test_a_void_above_the_cap_waits_for_approval(member):
    earned = points_earn(
        member=member, amount=3000, key="e", cause_kind="admin", description="t", pending=False
    )
    action = manual_void_request(
        entry=earned, reason="重复积分", actor=person(roles.CUSTOMER_SERVICE), key="v1"
    )

    assert points_available(member) == 3000
    manual_action_approve(action=action, actor=person(roles.FINANCE))
    assert points_available(member) == 0


# Through the console.


def test_the_console_says_a_request_waits_and_the_approver_approves_it(client, member):
    service = person(roles.CUSTOMER_SERVICE)
    client.force_login(service)
    form = {"member": "13912345678", "points": 1500, "reason": "客诉补偿", "key": "form-1"}

    asked = client.post("/admin/points/entry/adjust/", form, follow=True)

    action = ManualAction.objects.get()
    assert [str(m) for m in asked.context["messages"]] == [
        f"超出您每日 1000 积分的额度：需等待另一人审批（申请 #{action.pk}），积分尚未变动。"
    ]
    assert points_available(member) == 0
    client.force_login(person(roles.FINANCE))
    client.post(
        "/admin/points/manualaction/", {"action": "approve", "_selected_action": [action.pk]}
    )
    assert points_available(member) == 1500


def test_the_console_refuses_an_approval_by_the_requester(client, member):
    ops = person(roles.OPERATIONS)
    action = adjust(member, 6000, ops, "k1")
    client.force_login(ops)

    response = client.post(
        "/admin/points/manualaction/",
        {"action": "approve", "_selected_action": [action.pk]},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        f"#{action.pk}: 这需要另一个人批准：申请人是您自己。"
    ]
    assert points_available(member) == 0


def test_void_from_the_ledger_page(client, member):
    earned = points_earn(
        member=member, amount=100, key="e", cause_kind="admin", description="t", pending=False
    )
    client.force_login(person(roles.CUSTOMER_SERVICE))

    chosen = client.post(
        "/admin/points/entry/", {"action": "void", "_selected_action": [earned.pk]}
    )
    done = client.post(chosen["Location"], {"reason": "重复积分", "key": "v-form"})

    assert done.status_code == 302
    assert points_available(member) == 0


@pytest.mark.parametrize("role", roles.HQ_ROLES)
def test_no_role_changes_the_caps(client, role):
    client.force_login(person(role))
    cap = ManualActionCap.objects.get(group__name=roles.CUSTOMER_SERVICE)

    client.post(
        f"/admin/points/manualactioncap/{cap.pk}/change/",
        {"group": cap.group_id, "daily_points": 999999},
    )

    cap.refresh_from_db()
    assert cap.daily_points == 1000


# At once.


def _approver(name):
    user = UserFactory(username=name, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="approve_manualaction"))
    return user


def _asker():
    user = UserFactory(username="asker", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="adjust_points"))
    return user


@pytest.mark.django_db(transaction=True)
def test_approvals_at_once_move_the_points_once():
    member = MemberFactory()
    action = adjust(member, 2000, _asker(), "k1")  # no role: the setting's cap, 0
    chosen = [_approver(f"a{n}") for n in range(6)]
    turn = iter(range(6))

    def approve():
        return manual_action_approve(action=action, actor=chosen[next(turn)]).entry_id

    entries = run_together(approve, 6)

    assert len(set(entries)) == 1
    assert points_available(member) == 2000
    assert Entry.objects.filter(member=member).count() == 1
    assert AuditEntry.objects.filter(action="points.manual.approve").count() == 1


@pytest.mark.django_db(transaction=True)
def test_requests_at_once_never_pass_the_cap_together(settings):
    settings.POINTS_MANUAL_DAILY_CAP = 1000
    member, asker = MemberFactory(), _asker()
    keys = iter(range(5))

    def ask():
        return adjust(member, 300, asker, f"k{next(keys)}").status

    statuses = run_together(ask, 5)

    assert sorted(statuses) == ["applied"] * 3 + ["pending"] * 2
    assert points_available(member) == 900
