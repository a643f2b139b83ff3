"""售后 in a store's dashboard: the refund requests on the store's online orders, which its
owners and managers (and HQ with the permission) approve or refuse with a note. Anyone else
who may see the store — a clerk, a guide — is refused (403)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.core.errors import DomainError
from apps.dashboards.views import store_page, store_render
from apps.orders.after_sale import may_decide_refunds, refund_request_approve, refund_request_refuse
from apps.orders.models import RefundRequest
from apps.orders.selectors import store_refund_requests

REQUESTS_PER_PAGE = 20


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("refuse", "refuse")])
    note = forms.CharField(label=gettext_lazy("Note to the member"), max_length=200, required=False)


def _deciders_only(request, store) -> None:
    if not may_decide_refunds(request.user, store):
        raise PermissionDenied()


@store_page
def refund_requests(request, store):
    _deciders_only(request, store)
    page = Paginator(store_refund_requests(store), REQUESTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return store_render(
        request, "dashboards/refund_requests.html", store, page=page, form=DecisionForm()
    )


@require_POST
@store_page
def refund_request_decide(request, store, request_id):
    _deciders_only(request, store)
    asked = get_object_or_404(RefundRequest, pk=request_id, order__store=store)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Choose to approve or to refuse, with a note of at most 200 characters.")
        )
        return redirect("dashboards:refund-requests", code=store.code)
    decide = (
        refund_request_approve
        if form.cleaned_data["decision"] == "approve"
        else refund_request_refuse
    )
    try:
        decided = decide(request_id=asked.pk, actor=request.user, note=form.cleaned_data["note"])
    except DomainError as error:
        messages.error(request, error.render())
    else:
        decided.refresh_from_db()
        if decided.last_error:
            messages.error(
                request,
                _("The payment service did not refund it yet: %(error)s. Approve again to retry.")
                % {"error": decided.last_error},
            )
        else:
            messages.success(
                request,
                _("Order %(order_no)s: %(status)s.")
                % {"order_no": decided.order.order_no, "status": decided.get_status_display()},
            )
    return redirect("dashboards:refund-requests", code=store.code)
