"""The store dashboard's pages. Each store page takes the store from its address and
answers 404 for a store outside the signed-in person's scope."""

from datetime import datetime, time, timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.analytics.metrics import window_start
from apps.core.audit import request_ip
from apps.core.errors import DomainError
from apps.coupons.issuing import coupon_gift
from apps.coupons.models import CouponTemplate
from apps.coupons.selectors import store_allowances
from apps.dashboards.filters import StoreMemberFilter
from apps.dashboards.forms import GiveCouponForm, TagForm
from apps.dashboards.selectors import (
    guide_leaderboard,
    member_card,
    members_with_spend,
    store_member,
    store_members,
    store_overview,
    stores_compared,
)
from apps.members.services import member_phone_reveal, member_tag_add, store_tag_get_or_create
from apps.stores.errors import StoreClosed
from apps.stores.models import Staff, Store
from apps.stores.posters import store_poster_png
from apps.stores.scoping import access_scope, manages_store

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MEMBERS_PER_PAGE = 20
STORES_PER_PAGE = 50
SORTABLE = ("code", "member_count", "new_members_30", "sales_30", "member_sales_30")


class LoginView(auth_views.LoginView):
    template_name = "dashboards/login.html"
    redirect_authenticated_user = True
    next_page = reverse_lazy("dashboards:home")


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("dashboards:login")


def store_page(view):
    """A page of one store: signed in, and the store within one's scope, else 404. A closed
    or suspended store's pages still show, but every form sent to them (the counter's
    included) is refused with 403: its dashboard is read-only."""

    @login_required(login_url="dashboards:login")
    @wraps(view)
    def page(request, code, *args, **kwargs):
        store = get_object_or_404(Store.objects.select_related("distributor"), code=code.upper())
        scope = access_scope(request.user)
        if not scope.allows_store(store.pk):
            raise Http404()
        request.scope = scope
        if request.method not in SAFE_METHODS and not store.accepts_business:
            return store_render(request, "dashboards/store_closed.html", store, status=403)
        return view(request, store, *args, **kwargs)

    return page


def store_render(request, template: str, store: Store, *, status: int = 200, **context):
    """A store page, with what the navigation needs, and why a closed store is read-only."""
    context.update(
        store=store,
        many_stores=request.scope.is_hq or len(request.scope.store_ids) > 1,
        store_closed="" if store.accepts_business else StoreClosed(store=store).render(),
    )
    return render(request, template, context, status=status)


@login_required(login_url="dashboards:login")
def home(request):
    """One store: its overview. Several (a dealer, HQ): the stores side by side."""
    scope = access_scope(request.user)
    if scope.is_hq or len(scope.store_ids) > 1:
        return redirect("dashboards:stores")
    store = scope.stores().first()
    if store is None:
        return render(request, "dashboards/no_store.html", status=403)
    return redirect("dashboards:overview", code=store.code)


@login_required(login_url="dashboards:login")
def stores(request):
    scope = access_scope(request.user)
    order = request.GET.get("order", "-sales_30")
    if order.lstrip("-") not in SORTABLE:
        order = "-sales_30"
    compared = stores_compared(scope.stores()).order_by(order, "code")
    page = Paginator(compared, STORES_PER_PAGE).get_page(request.GET.get("page"))
    top = max((s.sales_30 for s in page), default=0) or 1
    for s in page:
        s.width = int(s.sales_30 * 100 / top)
    return render(request, "dashboards/stores.html", {"page": page, "order": order})


@store_page
def overview(request, store):
    days = 90 if request.GET.get("days") == "90" else 30
    return store_render(
        request,
        "dashboards/overview.html",
        store,
        figures=store_overview(store, trend_days=days),
        days=days,
    )


@store_page
def members(request, store):
    found = StoreMemberFilter(request.GET or None, queryset=store_members(store), store=store)
    page = Paginator(found.qs, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    members_with_spend(store, page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return store_render(
        request,
        "dashboards/members.html",
        store,
        filter=found,
        page=page,
        query=query.urlencode(),
    )


def _member_page(request, store, member, *, revealed_phone: str = "", status: int = 200):
    allowances = store_allowances(store) if manages_store(request.user, store) else []
    response = store_render(
        request,
        "dashboards/member.html",
        store,
        member=member,
        card=member_card(store, member),
        revealed_phone=revealed_phone,
        gift_form=GiveCouponForm(allowances=allowances) if allowances else None,
        tag_form=TagForm(),
    )
    response.status_code = status
    return response


@store_page
def member(request, store, member_id):
    return _member_page(request, store, store_member(store, member_id))


@require_POST
@store_page
def member_phone(request, store, member_id):
    member = store_member(store, member_id)
    try:
        phone = member_phone_reveal(member=member, actor=request.user, ip=request_ip(request))
    except DomainError as error:
        messages.error(request, error.render())
        return _member_page(request, store, member, status=403)
    return _member_page(request, store, member, revealed_phone=phone)


@require_POST
@store_page
def member_gift(request, store, member_id):
    member = store_member(store, member_id)
    if not manages_store(request.user, store):
        raise Http404()
    form = GiveCouponForm(request.POST, allowances=store_allowances(store))
    if form.is_valid():
        template = get_object_or_404(CouponTemplate, pk=form.cleaned_data["template"])
        try:
            coupon = coupon_gift(
                template=template,
                member=member,
                store=store,
                actor=request.user,
                key=form.cleaned_data["key"],
            )
        except DomainError as error:
            messages.error(request, error.render())
        else:
            messages.success(request, _("Gave %(coupon)s.") % {"coupon": coupon.template.name})
    else:
        messages.error(request, _("Choose a coupon the store still has."))
    return redirect("dashboards:member", code=store.code, member_id=member.pk)


@require_POST
@store_page
def member_tag(request, store, member_id):
    member = store_member(store, member_id)
    form = TagForm(request.POST)
    if form.is_valid():
        try:
            tag = store_tag_get_or_create(
                store=store, name=form.cleaned_data["name"], actor=request.user
            )
            member_tag_add(tag=tag, members=[member], actor=request.user)
        except DomainError as error:
            messages.error(request, error.render())
        else:
            messages.success(request, _("Tagged %(tag)s.") % {"tag": tag.name})
    else:
        messages.error(request, _("A tag needs a name of at most 30 characters."))
    return redirect("dashboards:member", code=store.code, member_id=member.pk)


PERIODS = {
    "month": lambda today: (today.replace(day=1), today + timedelta(days=1)),
    "last_month": lambda today: (
        (today.replace(day=1) - timedelta(days=1)).replace(day=1),
        today.replace(day=1),
    ),
    "30": lambda today: (window_start(today), today + timedelta(days=1)),
    "year": lambda today: (today.replace(month=1, day=1), today + timedelta(days=1)),
}


def _local_midnight(day):
    return timezone.make_aware(datetime.combine(day, time.min))


@store_page
def guides(request, store):
    period = request.GET.get("period") if request.GET.get("period") in PERIODS else "month"
    first, after = PERIODS[period](timezone.localdate())
    return store_render(
        request,
        "dashboards/guides.html",
        store,
        rows=guide_leaderboard(store, start=_local_midnight(first), end=_local_midnight(after)),
        period=period,
        first=first,
        last=after - timedelta(days=1),
    )


@store_page
def guide_poster(request, store, guide_code, pay=False):
    guide = get_object_or_404(
        Staff.objects.select_related("user", "store"),
        store=store,
        guide_code=guide_code.upper(),
        is_active=True,
    )
    response = HttpResponse(store_poster_png(store, guide=guide, pay=pay), content_type="image/png")
    name = f"{store.code}-{guide.guide_code}{'-pay' if pay else ''}.png"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@store_page
def poster(request, store, pay=False):
    """The store's join poster, or its pay poster (在线收款)."""
    response = HttpResponse(store_poster_png(store, pay=pay), content_type="image/png")
    name = f"{store.code}-{'pay-' if pay else ''}poster.png"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
