"""Segments by purchases: filters the orders app adds to the members' segments."""

from datetime import timedelta
from decimal import Decimal

from django import forms
from django.db.models import DecimalField, Exists, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from apps.members.segments import SegmentFilter, segment_filter_register
from apps.orders.models import Order

BOUGHT = [Order.Status.PAID, Order.Status.COMPLETED, Order.Status.PARTIALLY_REFUNDED]
# Orders that count in sales: every order paid, refunded or not (what was refunded is taken off).
PAID = [*BOUGHT, Order.Status.REFUNDED]


def _no_purchase_for(members, days, now):
    """Members with no purchase in the last `days` days (including those who never bought)."""
    recent = Order.objects.filter(
        member=OuterRef("pk"), status__in=BOUGHT, paid_at__gte=now - timedelta(days=int(days))
    )
    return members.filter(~Exists(recent))


def _spent_at_least(members, value, now):
    """Members who paid at least `min` yuan (less refunds) in the last `days` days."""
    spent = (
        Order.objects.filter(
            member=OuterRef("pk"),
            status__in=[*BOUGHT, Order.Status.REFUNDED],
            paid_at__gte=now - timedelta(days=int(value["days"])),
        )
        .values("member")
        .annotate(total=Sum(F("paid_amount") - F("refunded_amount")))
        .values("total")
    )
    money = DecimalField(max_digits=14, decimal_places=2)
    return members.alias(
        spent=Coalesce(Subquery(spent, output_field=money), Value(Decimal(0)), output_field=money)
    ).filter(spent__gte=Decimal(value["min"]))


class SpendWidget(forms.MultiWidget):
    def __init__(self):
        super().__init__([forms.NumberInput(attrs={"step": "0.01"}), forms.NumberInput()])

    def decompress(self, value):
        return [value["min"], value["days"]] if value else [None, None]


class SpendField(forms.MultiValueField):
    """Spent at least [yuan] in the last [days] days."""

    widget = SpendWidget

    def __init__(self, **kwargs):
        super().__init__(
            fields=[
                forms.DecimalField(min_value=0, decimal_places=2),
                forms.IntegerField(min_value=1, max_value=3650),
            ],
            require_all_fields=False,
            required=False,
            **kwargs,
        )

    def compress(self, data_list):
        if not data_list or data_list[0] in (None, ""):
            return None
        days = data_list[1] or 365
        return {"min": str(data_list[0]), "days": days}


segment_filter_register(
    SegmentFilter(
        name="no_purchase_days",
        form_field=lambda: forms.IntegerField(
            label=_("no purchase for at least (days)"), min_value=1, required=False
        ),
        to_json=int,
        initial=lambda days: days,
        apply=_no_purchase_for,
    )
)
segment_filter_register(
    SegmentFilter(
        name="spent",
        form_field=lambda: SpendField(
            label=_("spent at least (yuan) in the last (days)"),
            help_text=_("Paid less refunds; the period defaults to 365 days."),
        ),
        to_json=lambda value: value,
        initial=lambda value: value,
        apply=_spent_at_least,
    )
)
