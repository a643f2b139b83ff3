from decimal import Decimal

import factory

from apps.coupons.models import CouponTemplate


class CouponTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CouponTemplate

    name = factory.Sequence(lambda n: f"满100减20 #{n}")
    kind = "threshold"
    threshold = Decimal("100")
    amount = Decimal("20")
    valid_days = 30
    claimable = True
    total_stock = 100
