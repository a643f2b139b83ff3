from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.admin import HuijiModelAdmin, ReadOnlyAdmin
from apps.members.admin import MemberAdmin
from apps.members.forms import MemberByPhoneField
from apps.tiers.models import GrowthEntry, MemberTier, Tier, TierChange, TierChannelBenefit
from apps.tiers.segments import members_in_tiers
from apps.tiers.services import tier_set_manual


class TierChannelBenefitInline(admin.TabularInline):
    model = TierChannelBenefit
    extra = 0


@admin.register(Tier)
class TierAdmin(HuijiModelAdmin):
    reference_data = ("tiers",)
    list_display = [
        "rank",
        "code",
        "name",
        "growth_threshold",
        "discount_percent",
        "points_multiplier",
        "free_shipping",
        "members_only_access",
    ]
    search_fields = ["code", "name"]
    inlines = [TierChannelBenefitInline]


@admin.register(GrowthEntry)
class GrowthEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "member", "kind", "amount", "description"]
    list_filter = ["kind", "created_at"]
    list_select_related = ["member"]
    search_fields = ["=key", "member__name"]


@admin.register(TierChange)
class TierChangeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "member", "from_tier", "to_tier", "reason", "note"]
    list_filter = ["reason", "to_tier", "created_at"]
    list_select_related = ["member", "from_tier", "to_tier"]
    search_fields = ["member__name", "note"]


class ManualTierForm(forms.Form):
    member = MemberByPhoneField()
    tier = forms.ModelChoiceField(label=_("tier"), queryset=Tier.objects.order_by("rank"))
    until = forms.DateField(
        label=_("floor until"),
        help_text=_("Reviews will not take the member below this tier until then."),
    )
    reason = forms.CharField(label=_("reason"), max_length=100)

    def clean_until(self):
        if self.cleaned_data["until"] <= timezone.localdate():
            raise forms.ValidationError(_("Choose a day after today."))
        return self.cleaned_data["until"]


@admin.register(MemberTier)
class MemberTierAdmin(ReadOnlyAdmin):
    list_display = ["member", "tier", "since", "floor", "floor_until", "review_on", "grace_until"]
    list_filter = ["tier"]
    list_select_related = ["member", "tier", "floor"]
    search_fields = ["member__name"]
    change_list_template = "admin/tiers/membertier/change_list.html"

    def get_urls(self):
        view = path("set/", self.admin_site.admin_view(self.set_view), name="tiers_membertier_set")
        return [view, *super().get_urls()]

    def set_view(self, request):
        """HQ gives a member a tier, which holds as a floor until a date (audited)."""
        if not request.user.has_perm("tiers.change_membertier"):
            raise PermissionDenied
        form = ManualTierForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            tier_set_manual(actor=request.user, **form.cleaned_data)
            messages.success(request, _("The member's tier was set."))
            return redirect("admin:tiers_membertier_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Set a member's tier"),
            "form": form,
            "opts": self.model._meta,
            "changelist_url": reverse("admin:tiers_membertier_changelist"),
        }
        return TemplateResponse(request, "admin/form_page.html", context)


class MemberTierFilter(admin.SimpleListFilter):
    """The member list filtered by tier (a member never reviewed is in the first tier)."""

    title = _("tier")
    parameter_name = "tier"

    def lookups(self, request, model_admin):
        return [(tier.code, tier.name) for tier in Tier.objects.order_by("rank")]

    def queryset(self, request, queryset):
        if self.value():
            return members_in_tiers(queryset, [self.value()])
        return queryset


MemberAdmin.list_filter = [*MemberAdmin.list_filter, MemberTierFilter]
