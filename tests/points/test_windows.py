"""Themed windows (感恩回馈月): HQ limits exchanging points for coupons, or paying with
points at checkout, to chosen dates; outside them both are refused, saying when the next
window opens, and nothing changes; the member's data says the same."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.coupons.models import Coupon
from apps.orders.models import Order
from apps.points.models import PointsWindow
from apps.points.selectors import points_available
from apps.points.services import points_earn
from apps.points.windows import points_window_state
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory, member_client
from tests.orders.test_online_orders import app, body, shop  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def window(use, start, end, **fields):
    today = timezone.localdate()
    return PointsWindow.objects.create(
        name="感恩回馈月",
        use=use,
        starts_on=today + timedelta(days=start),
        ends_on=today + timedelta(days=end),
        **fields,
    )


def test_without_windows_a_use_is_open_every_day():
    state = points_window_state("exchange")
    assert (state.limited, state.open) == (False, True)


def test_the_state_names_the_open_window_or_the_next_one():
    today = timezone.localdate()
    window("exchange", -40, -10)
    window("exchange", 5, 30)
    window("exchange", 60, 90)
    window("exchange", -1, 1, active=False)

    closed = points_window_state("exchange")
    assert (closed.limited, closed.open, closed.next_opens_on) == (
        True,
        False,
        today + timedelta(days=5),
    )
    inside = points_window_state("exchange", today + timedelta(days=6))
    assert (inside.open, inside.closes_on) == (True, today + timedelta(days=30))
    after = points_window_state("exchange", today + timedelta(days=100))
    assert (after.open, after.next_opens_on) == (False, None)
    assert points_window_state("deduction").limited is False


@pytest.fixture
def member():
    member = MemberFactory()
    points_earn(
        member=member, amount=1000, key="seed", cause_kind="admin", description="t", pending=False
    )
    return member


def test_exchanging_outside_a_window_is_refused_and_spends_nothing(api_client, member):
    window("exchange", 3, 30)
    template = CouponTemplateFactory(claimable=False, points_price=300, per_member_limit=5)
    member_app = member_client(api_client, member)
    opens = (timezone.localdate() + timedelta(days=3)).isoformat()

    zh = member_app.post(f"/api/v1/coupons/{template.pk}/exchange", HTTP_IDEMPOTENCY_KEY="tap-1")
    en = member_app.post(
        f"/api/v1/coupons/{template.pk}/exchange",
        HTTP_IDEMPOTENCY_KEY="tap-2",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert zh.status_code == en.status_code == 409
    assert zh.json()["code"] == "points_window_closed"
    assert opens in zh.json()["message"] and "积分兑换优惠券" in zh.json()["message"]
    assert en.json()["message"] == (
        f"Exchanging points for coupons is open only in the windows HQ set; the next one "
        f"opens on {opens}."
    )
    assert Coupon.objects.count() == 0 and points_available(member) == 1000


def test_exchanging_inside_a_window_works(api_client, member):
    window("exchange", -1, 1)
    template = CouponTemplateFactory(claimable=False, points_price=300, per_member_limit=5)
    member_app = member_client(api_client, member)

    done = member_app.post(f"/api/v1/coupons/{template.pk}/exchange", HTTP_IDEMPOTENCY_KEY="tap-1")

    assert done.status_code == 201 and points_available(member) == 700


def test_paying_with_points_outside_a_window_is_refused_and_places_nothing(app, shop):  # noqa: F811
    _store, member = shop
    window("deduction", 10, 20)
    window("exchange", -1, 1)  # another use's window opens nothing for this one

    refused = app.post("/api/v1/orders", body({"type": "pickup"}, points=1000), format="json")
    without_points = app.post("/api/v1/orders", body({"type": "pickup"}), format="json")

    assert refused.status_code == 409 and refused.json()["code"] == "points_window_closed"
    assert without_points.status_code == 201
    assert Order.objects.count() == 1 and points_available(member) == 5000


def test_paying_with_points_inside_a_window_works(app, shop):  # noqa: F811
    _store, member = shop
    window("deduction", 0, 0)

    placed = app.post("/api/v1/orders", body({"type": "pickup"}, points=1000), format="json")

    assert placed.status_code == 201 and points_available(member) == 4000


def test_the_member_data_says_when_the_next_window_opens(api_client, member):
    window("deduction", 3, 30)
    opens = (timezone.localdate() + timedelta(days=3)).isoformat()

    data = member_client(api_client, member).get("/api/v1/me").json()["points_windows"]

    assert data["deduction"] == {
        "limited": True,
        "open": False,
        "closes_on": None,
        "next_opens_on": opens,
        "name": "感恩回馈月",
    }
    assert data["exchange"]["limited"] is False and data["exchange"]["open"] is True


def test_the_console_saving_a_window_takes_effect_at_once(
    hq_client, member, django_capture_on_commit_callbacks
):
    assert points_window_state("exchange").open is True
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        response = hq_client.post(
            "/admin/points/pointswindow/add/",
            {
                "name": "感恩回馈月",
                "use": "exchange",
                "starts_on": (today + timedelta(days=3)).isoformat(),
                "ends_on": (today + timedelta(days=30)).isoformat(),
                "active": "on",
            },
        )
    assert response.status_code == 302
    assert points_window_state("exchange").open is False
