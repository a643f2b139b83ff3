"""The store's own mall (一店一商城): of the products HQ lets the store sell, its owner or
manager (`manages_store`) chooses which its mall shows and pins featured ones first. Anyone
else who may see the store reads the page; what they send is refused with 403."""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.core.audit import request_ip
from apps.dashboards.views import store_page, store_render
from apps.mall.selectors import products_for_store, store_shelf
from apps.mall.shelves import shelf_set
from apps.stores.scoping import manages_store

PRODUCTS_PER_PAGE = 20


class ShelfForm(forms.Form):
    shown = forms.BooleanField(required=False)
    pinned = forms.BooleanField(required=False)
    # where the list was, to go back to it
    q = forms.CharField(required=False, max_length=100)
    page = forms.IntegerField(required=False, min_value=1)


def _listing(query: str, page: int | None) -> str:
    return urlencode({key: value for key, value in (("q", query), ("page", page)) if value})


@store_page
def shelf(request, store):
    query = request.GET.get("q", "").strip()[:100]
    products = store_shelf(store).select_related("category")
    if query:
        products = products.filter(title__icontains=query)
    page = Paginator(products, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    return store_render(
        request,
        "dashboards/shelf.html",
        store,
        page=page,
        q=query,
        query=_listing(query, None),
        can_change=manages_store(request.user, store) and store.accepts_business,
    )


@require_POST
@store_page
def shelf_change(request, store, product_id):
    if not manages_store(request.user, store):
        raise PermissionDenied
    product = get_object_or_404(products_for_store(store), pk=product_id)
    form = ShelfForm(request.POST)
    form.is_valid()  # every field is optional; what does not parse reads as empty
    shelf_set(
        store=store,
        product=product,
        shown=form.cleaned_data.get("shown", False),
        pinned=form.cleaned_data.get("pinned", False),
        actor=request.user,
        ip=request_ip(request),
    )
    messages.success(request, _("Saved %(product)s.") % {"product": product.title})
    back = _listing(form.cleaned_data.get("q", ""), form.cleaned_data.get("page"))
    return redirect(f"{reverse('dashboards:shelf', args=[store.code])}?{back}".rstrip("?"))
