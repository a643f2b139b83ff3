"""分销 in a store's dashboard: the store's promoters and guides with what they brought, for
the store's (or its dealer's) owners and managers and HQ; and the promoter applications made
for the store, which only its owners (and HQ staff who may change promoters) decide. A
clerk or a guide is refused (403); another store's people never see the store (404)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.core.errors import DomainError
from apps.dashboards.views import store_page, store_render
from apps.referrals.models import Promoter
from apps.referrals.promoters import promoter_decide
from apps.referrals.reports import (
    csv_response,
    distribution_by_dealer,
    distribution_by_store,
    distribution_csv,
    store_people,
)
from apps.stores.models import Staff, Store
from apps.stores.scoping import access_scope, manages_store, store_roles

DECIDE_PERMISSION = "referrals.change_promoter"
VIEW_PERMISSION = "referrals.view_promoter"
MANAGING = (Staff.Role.OWNER, Staff.Role.MANAGER)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("refuse", "refuse")])
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200, required=False)


def may_decide_promoters(user, store) -> bool:
    """The store's (or its dealer's) owners, and HQ staff who may change promoters."""
    if not user.is_authenticated:
        return False
    if user.is_staff and user.has_perm(DECIDE_PERMISSION):
        return True
    return Staff.Role.OWNER in store_roles(user, store)


@store_page
def promoters(request, store):
    if not manages_store(request.user, store):
        raise PermissionDenied()
    deciding = may_decide_promoters(request.user, store)
    applications = (
        list(
            Promoter.objects.filter(store=store, status=Promoter.Status.APPLIED)
            .select_related("member")
            .order_by("created_at", "pk")
        )
        if deciding
        else []
    )
    return store_render(
        request,
        "dashboards/promoters.html",
        store,
        rows=store_people(store),
        applications=applications,
        deciding=deciding,
        form=DecisionForm(),
    )


@require_POST
@store_page
def promoter_application_decide(request, store, promoter_id):
    if not may_decide_promoters(request.user, store):
        raise PermissionDenied()
    promoter = get_object_or_404(Promoter, pk=promoter_id, store=store)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Choose to approve or to refuse, with a reason of at most 200 characters.")
        )
        return redirect("dashboards:promoters", code=store.code)
    try:
        decided = promoter_decide(
            promoter=promoter,
            decision=form.cleaned_data["decision"],
            actor=request.user,
            reason=form.cleaned_data["reason"],
        )
    except DomainError as error:
        messages.error(request, error.render())
    else:
        messages.success(
            request,
            _("%(member)s: %(status)s.")
            % {"member": decided.member, "status": decided.get_status_display()},
        )
    return redirect("dashboards:promoters", code=store.code)


def _managed_stores(user) -> QuerySet[Store]:
    """The stores a person owns or manages, at the store or at its dealer."""
    places = list(
        Staff.objects.filter(user=user, is_active=True, role__in=MANAGING).values_list(
            "store", "distributor"
        )
    )
    return Store.objects.filter(
        Q(pk__in=[store for store, _dealer in places if store])
        | Q(distributor__in=[dealer for _store, dealer in places if dealer])
    )


@login_required(login_url="dashboards:login")
def distribution(request):
    """A dealer's (or a store owner's, or HQ's) report: what its stores' promoters and
    guides brought, per store and summed; as CSV with ?format=csv. Only for those who see
    the business side of the stores (owners and managers, HQ): others 403."""
    scope = access_scope(request.user)
    if scope.is_hq and request.user.has_perm(VIEW_PERMISSION):
        stores = Store.objects.all()
    else:
        stores = _managed_stores(request.user)
        if not stores.exists():
            raise PermissionDenied()
    rows = distribution_by_store(stores)
    if request.GET.get("format") == "csv":
        return csv_response(distribution_csv(rows), "distribution")
    return render(
        request,
        "dashboards/distribution.html",
        {"rows": rows, "dealers": distribution_by_dealer(rows)},
    )
