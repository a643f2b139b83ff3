"""A small catalogue for the mall's tests: two tiers (gold has its own discount in the mall
channel), a store, and products priced each way a member can be priced."""

from decimal import Decimal

import pytest

from apps.mall.models import Stock, TierPrice
from apps.tiers.models import Tier, TierChannelBenefit
from apps.tiers.services import tier_set_manual
from tests.mall.factories import SkuFactory
from tests.members.factories import MemberFactory, member_client
from tests.stores.factories import StoreFactory


@pytest.fixture
def tiers():
    normal = Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    gold = Tier.objects.create(
        code="gold", name="黄金会员", rank=1, growth_threshold=300, discount_percent=Decimal(10)
    )
    TierChannelBenefit.objects.create(tier=gold, channel="mall", discount_percent=Decimal(8))
    return normal, gold


@pytest.fixture
def store():
    return StoreFactory(code="S001", name="杭州文三路店")


@pytest.fixture
def catalogue(tiers):
    """TEE: price only; SHOE: a member price and a gold tier price; VIP: members only."""
    _normal, gold = tiers
    tee = SkuFactory(sku="TEE", name="T恤", category="上衣/T恤", price=Decimal("100"))
    shoe = SkuFactory(
        sku="SHOE",
        name="运动鞋",
        category="鞋履",
        price=Decimal("399"),
        member_price=Decimal("349"),
    )
    TierPrice.objects.create(sku=shoe, tier=gold, price=Decimal("329"))
    vip = SkuFactory(
        sku="VIP", name="会员专享包", category="配饰", price=Decimal("59"), members_only=True
    )
    for sku in (tee, shoe, vip):
        Stock.objects.create(sku=sku, store=None, on_hand=100)
    return {"TEE": tee, "SHOE": shoe, "VIP": vip}


@pytest.fixture
def member(tiers):
    return MemberFactory()


@pytest.fixture
def gold_member(tiers):
    member = MemberFactory()
    tier_set_manual(member=member, tier=tiers[1], until=None, actor=None, reason="测试")
    return member


@pytest.fixture
def member_api(api_client, member):
    return member_client(api_client, member)


@pytest.fixture
def gold_api(api_client, gold_member):
    return member_client(api_client, gold_member)
