"""The filters a shop owner narrows their member list with."""

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.analytics.metrics import active, dormant, new_this_month
from apps.members.models import Member, Tag
from apps.tiers.models import Tier
from apps.tiers.segments import members_in_tiers


class StoreMemberFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label=_("Last four digits or name"), max_length=30
    )
    tier = django_filters.ModelChoiceFilter(
        queryset=Tier.objects.order_by("rank"),
        to_field_name="code",
        method="in_tier",
        label=_("Tier"),
        empty_label=_("All tiers"),
    )
    activity = django_filters.ChoiceFilter(
        choices=[
            ("new", _("Joined this month")),
            ("active", _("Active in 30 days")),
            ("dormant", _("Dormant 90+ days")),
        ],
        method="by_activity",
        label=_("Activity"),
        empty_label=_("Everyone"),
    )
    tag = django_filters.ModelChoiceFilter(
        queryset=Tag.objects.none(), method="tagged", label=_("Tag"), empty_label=_("Any tag")
    )

    class Meta:
        model = Member
        fields = []

    def __init__(self, *args, store, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["tag"].queryset = Tag.objects.filter(Q(store=store) | Q(store__isnull=True))

    def search(self, members, _name, value):
        value = value.strip()
        if value.isdigit():
            return members.filter(phone__endswith=value[-4:])
        return members.filter(name__icontains=value) if value else members

    def in_tier(self, members, _name, tier):
        return members_in_tiers(members, [tier.code])

    def by_activity(self, members, _name, value):
        definition = {"new": new_this_month, "active": active, "dormant": dormant}[value]
        return members.filter(definition(timezone.now()))

    def tagged(self, members, _name, tag):
        return members.filter(member_tags__tag=tag)
