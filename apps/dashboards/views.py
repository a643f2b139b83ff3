from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy

from apps.dashboards.selectors import store_overview
from apps.stores.models import Store
from apps.stores.scoping import access_scope


class LoginView(auth_views.LoginView):
    template_name = "dashboards/login.html"
    redirect_authenticated_user = True
    next_page = reverse_lazy("dashboards:home")


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("dashboards:login")


def _scoped_store(request, code: str) -> Store:
    """A store the signed-in person may see; any other answers 404, as if it did not exist."""
    store = get_object_or_404(Store, code=code.upper())
    if not access_scope(request.user).allows_store(store.pk):
        raise Http404()
    return store


@login_required(login_url="dashboards:login")
def home(request):
    store = access_scope(request.user).stores().order_by("code").first()
    if store is None:
        return render(request, "dashboards/no_store.html", status=403)
    return redirect("dashboards:overview", code=store.code)


@login_required(login_url="dashboards:login")
def overview(request, code):
    store = _scoped_store(request, code)
    stores = list(access_scope(request.user).stores().order_by("code").only("code", "name"))
    return render(
        request,
        "dashboards/overview.html",
        {"store": store, "stores": stores, "figures": store_overview(store)},
    )
