"""A store with a till and a member with points, for the POS tests."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from apps.points.models import EarningRule
from apps.points.services import points_earn
from tests.mall.factories import SkuFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory, pos_key_for

PHONE = "13912345678"


@pytest.fixture
def shop(db):
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    SkuFactory(sku="TEE", name="T恤", category="上衣", price=Decimal("99"))
    store = StoreFactory(name="杭州文三路店")
    member = MemberFactory(phone=PHONE)
    points_earn(
        member=member, amount=5000, key="seed", cause_kind="admin", description="t", pending=False
    )
    return {"store": store, "member": member, "key": pos_key_for(store)}


def till(raw_key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


@pytest.fixture
def pos(shop):
    return till(shop["key"])
