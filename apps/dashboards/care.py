"""The store's care list (会员关怀): today's calls HQ's care tasks asked for, each member's
number masked until one taps to call (an audited reveal), each call marked done with how it
went; and, for HQ and dealers, how much of each store's lists was done."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.core.audit import request_ip
from apps.core.errors import DomainError
from apps.dashboards.views import store_page, store_render
from apps.marketing.care import (
    care_call_done,
    care_call_phone_reveal,
    care_completion,
    store_care_call,
    store_care_list,
)
from apps.marketing.models import CareCall
from apps.stores.scoping import access_scope, works_till

COMPLETION_DAYS = 7


def _care_page(request, store, *, revealed: CareCall | None = None, phone: str = "", status=200):
    calls = list(store_care_list(store))
    return store_render(
        request,
        "dashboards/care.html",
        store,
        status=status,
        calls=calls,
        done=sum(1 for call in calls if call.done_at),
        revealed_id=revealed.pk if revealed else None,
        revealed_phone=phone,
        works_here=works_till(request.user, store),
        outcomes=[choice for choice in CareCall.Outcome.choices if choice[0]],
    )


def _call_or_404(store, call_id):
    call = store_care_call(store, call_id)
    if call is None:
        raise Http404()
    return call


@store_page
def care(request, store):
    return _care_page(request, store)


@require_POST
@store_page
def care_call(request, store, call_id):
    call = _call_or_404(store, call_id)
    try:
        phone = care_call_phone_reveal(call=call, actor=request.user, ip=request_ip(request))
    except DomainError as error:
        messages.error(request, error.render())
        return _care_page(request, store, status=error.status)
    return _care_page(request, store, revealed=call, phone=phone)


@require_POST
@store_page
def care_done(request, store, call_id):
    call = _call_or_404(store, call_id)
    try:
        care_call_done(
            call=call,
            actor=request.user,
            outcome=request.POST.get("outcome", ""),
            note=request.POST.get("note", ""),
        )
    except DomainError as error:
        messages.error(request, error.render())
        return _care_page(request, store, status=error.status)
    messages.success(request, _("Marked done."))
    return redirect("dashboards:care", code=store.code)


@login_required(login_url="dashboards:login")
def care_stores(request):
    """HQ's and a dealer's view: each of their stores' calls of the last days, and how many
    were done."""
    last = timezone.localdate()
    first = last - timedelta(days=COMPLETION_DAYS - 1)
    rows = list(care_completion(access_scope(request.user).stores(), first=first, last=last))
    for row in rows:
        row.share = round(row.done * 100 / row.calls) if row.calls else 0
    return render(
        request, "dashboards/care_stores.html", {"rows": rows, "first": first, "last": last}
    )
