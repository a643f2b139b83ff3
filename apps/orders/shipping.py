"""运费: what delivering an online order costs, by HQ's rules (`ShippingRule`)."""

from decimal import Decimal

from apps.orders.models import ShippingRule

REGION_SEPARATOR = "/"


def order_shipping_fee(*, region: str, goods: Decimal) -> Decimal:
    """The fee for delivering goods worth `goods` (after member prices and coupons) to
    `region` ("浙江省/杭州市/西湖区"): the rule of the longest prefix of it wins, then the
    blank one; free from the rule's amount; free where HQ set no rule. One query."""
    parts = [part.strip() for part in region.split(REGION_SEPARATOR)]
    prefixes = ["", *(REGION_SEPARATOR.join(parts[:n]) for n in range(1, len(parts) + 1))]
    rules = {rule.region: rule for rule in ShippingRule.objects.filter(region__in=prefixes)}
    rule = next((rules[prefix] for prefix in reversed(prefixes) if prefix in rules), None)
    if rule is None or (rule.free_from is not None and goods >= rule.free_from):
        return Decimal(0)
    return rule.fee
