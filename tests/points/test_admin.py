import pytest
from django.contrib.auth.models import Group

from apps.core import roles
from apps.core.models import AuditEntry
from apps.points.selectors import points_available
from tests.core.factories import UserFactory
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db


def signed_in(client, role):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return user


def test_customer_service_adjusts_points_with_a_reason_once(client):
    member = MemberFactory(phone="13912345678")
    user = signed_in(client, roles.CUSTOMER_SERVICE)
    form = {"member": "139 1234 5678", "points": 300, "reason": "客诉补偿", "key": "form-1"}

    response = client.post("/admin/points/entry/adjust/", form)
    client.post("/admin/points/entry/adjust/", form)  # pressed twice

    assert response.status_code == 302
    assert points_available(member) == 300
    entry = AuditEntry.objects.get(action="points.adjust")
    assert (entry.actor, entry.reason, entry.after) == (user, "客诉补偿", {"points": 300})


def test_taking_more_than_the_member_has_is_refused_in_the_form(client):
    MemberFactory(phone="13912345678")
    signed_in(client, roles.CUSTOMER_SERVICE)

    response = client.post(
        "/admin/points/entry/adjust/",
        {"member": "13912345678", "points": -5, "reason": "更正", "key": "k"},
    )

    assert response.status_code == 200
    assert "积分不足" in response.content.decode()
    assert not AuditEntry.objects.filter(action="points.adjust").exists()


@pytest.mark.parametrize(
    "form",
    [
        {"member": "13700000000", "points": 10, "reason": "x", "key": "k"},  # nobody has it
        {"member": "13912345678", "points": 0, "reason": "x", "key": "k"},
        {"member": "13912345678", "points": 10, "reason": "", "key": "k"},
    ],
)
def test_bad_adjustments_change_nothing(client, form):
    member = MemberFactory(phone="13912345678")
    signed_in(client, roles.CUSTOMER_SERVICE)

    assert client.post("/admin/points/entry/adjust/", form).status_code == 200
    assert points_available(member) == 0


def test_marketing_may_not_adjust(client):
    signed_in(client, roles.MARKETING)

    assert client.get("/admin/points/entry/adjust/").status_code == 403
