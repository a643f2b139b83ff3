"""Segments by tier: a filter the tiers app adds to the members' segments."""

from django import forms
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from apps.members.segments import SegmentFilter, segment_filter_register
from apps.tiers.models import MemberTier, Tier


def members_in_tiers(members, codes):
    """Members whose tier is one of `codes`; a member never reviewed is in the first tier."""
    in_tier = Exists(MemberTier.objects.filter(member=OuterRef("pk"), tier__code__in=codes))
    first = Tier.objects.order_by("rank").values_list("code", flat=True).first()
    if first in codes:
        in_tier |= ~Exists(MemberTier.objects.filter(member=OuterRef("pk")))
    return members.filter(in_tier)


segment_filter_register(
    SegmentFilter(
        name="tiers",
        form_field=lambda: forms.ModelMultipleChoiceField(
            Tier.objects.order_by("rank"),
            to_field_name="code",
            required=False,
            widget=forms.CheckboxSelectMultiple,
            label=_("in these tiers"),
        ),
        to_json=lambda tiers: sorted(tier.code for tier in tiers),
        initial=lambda codes: list(Tier.objects.filter(code__in=codes)),
        apply=lambda members, codes, _now: members_in_tiers(members, codes),
    )
)
