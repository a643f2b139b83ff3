"""A store's care list in its dashboard: its own members only, numbers masked until a tap
to call (audited), calls marked done by the store's people; completion per store for HQ and
dealers, each dealer only its stores."""

import pytest
from django.utils import timezone

from apps.core.models import AuditEntry
from apps.marketing.models import CareCall, CareTask
from tests.dashboards.test_overview import person
from tests.distributors.factories import DistributorFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def care():
    dealer = DistributorFactory()
    s001 = StoreFactory(code="S001", distributor=dealer)
    s002 = StoreFactory(code="S002")
    task = CareTask.objects.create(name="沉睡会员回访", kind="dormant", days=60, script="好久不见")
    today = timezone.localdate()
    ann = MemberFactory(home_store=s001, name="王安", phone="13900001234")
    zhao = MemberFactory(home_store=s002, name="赵外", phone="13900009999")
    mine = CareCall.objects.create(task=task, store=s001, member=ann, day=today)
    theirs = CareCall.objects.create(task=task, store=s002, member=zhao, day=today)
    return {"S001": s001, "S002": s002, "dealer": dealer, "mine": mine, "theirs": theirs}


def test_a_guide_sees_todays_list_masked_calls_and_marks_a_call_done(client, care):
    guide = person(client, store=care["S001"], role="guide")
    call = care["mine"]

    page = guide.get("/dashboard/stores/S001/care/").content.decode()
    assert "王安" in page and "139****1234" in page and "13900001234" not in page
    assert "好久不见" in page and "赵外" not in page

    revealed = guide.post(f"/dashboard/stores/S001/care/{call.pk}/call/")
    assert 'href="tel:13900001234"' in revealed.content.decode()
    entry = AuditEntry.objects.get(action="member.phone_reveal")
    assert entry.target_id == str(call.member_id)

    done = guide.post(
        f"/dashboard/stores/S001/care/{call.pk}/done/", {"outcome": "reached", "note": "下周来"}
    )
    assert done.status_code == 302
    call.refresh_from_db()
    assert call.outcome == "reached" and call.note == "下周来" and call.done_at is not None
    # A retried tap changes nothing.
    first_done = call.done_at
    guide.post(f"/dashboard/stores/S001/care/{call.pk}/done/", {"outcome": "no_answer"})
    call.refresh_from_db()
    assert call.outcome == "reached" and call.done_at == first_done


def test_a_call_needs_an_outcome(client, care):
    guide = person(client, store=care["S001"], role="guide")
    response = guide.post(f"/dashboard/stores/S001/care/{care['mine'].pk}/done/", {"outcome": "?"})
    assert response.status_code == 400
    assert not CareCall.objects.filter(done_at__isnull=False).exists()


def test_another_stores_people_can_neither_see_nor_complete_the_list(client, care):
    other = person(client, store=care["S002"], role="owner")
    call = care["mine"]

    assert other.get("/dashboard/stores/S001/care/").status_code == 404
    assert other.post(f"/dashboard/stores/S001/care/{call.pk}/call/").status_code == 404
    assert (
        other.post(
            f"/dashboard/stores/S001/care/{call.pk}/done/", {"outcome": "reached"}
        ).status_code
        == 404
    )
    # Nor through their own store's address.
    assert (
        other.post(
            f"/dashboard/stores/S002/care/{call.pk}/done/", {"outcome": "reached"}
        ).status_code
        == 404
    )
    assert other.post(f"/dashboard/stores/S002/care/{call.pk}/call/").status_code == 404
    call.refresh_from_db()
    assert call.done_at is None
    assert not AuditEntry.objects.filter(action="member.phone_reveal").exists()


def test_hq_reads_the_list_but_does_not_call_or_complete(hq_client, care):
    call = care["mine"]
    assert hq_client.get("/dashboard/stores/S001/care/").status_code == 200
    assert hq_client.post(f"/dashboard/stores/S001/care/{call.pk}/call/").status_code == 403
    done = hq_client.post(f"/dashboard/stores/S001/care/{call.pk}/done/", {"outcome": "reached"})
    assert done.status_code == 403
    call.refresh_from_db()
    assert call.done_at is None


def test_completion_per_store_for_hq_and_for_a_dealer_only_its_stores(client, hq_client, care):
    CareCall.objects.filter(pk=care["mine"].pk).update(done_at=timezone.now(), outcome="reached")

    rows = {s.code: (s.calls, s.done) for s in hq_client.get("/dashboard/care/").context["rows"]}
    assert rows == {"S001": (1, 1), "S002": (1, 0)}

    client.logout()
    dealer = person(client, store=None, distributor=care["dealer"], role="manager")
    rows = {s.code: (s.calls, s.done) for s in dealer.get("/dashboard/care/").context["rows"]}
    assert rows == {"S001": (1, 1)}
    assert dealer.get("/dashboard/stores/S002/care/").status_code == 404


def test_yesterdays_calls_are_off_the_list(client, care):
    guide = person(client, store=care["S001"], role="guide")
    call = care["mine"]
    CareCall.objects.filter(pk=call.pk).update(day=call.day.replace(year=call.day.year - 1))
    assert "王安" not in guide.get("/dashboard/stores/S001/care/").content.decode()
    assert (
        guide.post(
            f"/dashboard/stores/S001/care/{call.pk}/done/", {"outcome": "reached"}
        ).status_code
        == 404
    )
