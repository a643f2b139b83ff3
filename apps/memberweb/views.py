"""The member web centre's pages: each a template whose script reads and writes the
member's data through /api/v1/ with the member's token, as the mini-program does. The
views hand out no member data; they serve the page, its words and its security policy."""

from csp.decorators import csp
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from apps.memberweb.messages import page_messages

# Only this site's own scripts, styles and requests; images also from blob: (the member
# and coupon QR codes, fetched with the token) and data: (the barcode canvas). No inline
# script or style, no frames, no form posted anywhere else.
MEMBER_PAGES_POLICY = {
    "default-src": ["'none'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "blob:", "data:"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "manifest-src": ["'self'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "object-src": ["'none'"],
}


def page(name: str, *, signed_in: bool = True, tabs: bool | None = None, extra=None):
    """The view of one page: templates/memberweb/<name>.html. `signed_in`: its script sends
    a member without a token to the sign-in page first. `tabs`: the bottom navigation is
    shown (default: on the signed-in pages; the mall's pages show it to visitors too).
    `extra`: more of the page's context, the same for everyone (choices and their labels)."""

    @require_safe
    @csp(MEMBER_PAGES_POLICY)
    def view(request, **kwargs):
        context = {
            "page": name,
            "tabs": signed_in if tabs is None else tabs,
            "messages_for_script": page_messages(),
            **(extra or {}),
            **kwargs,
        }
        response = render(request, f"memberweb/{name}.html", context)
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "same-origin"
        return response

    view.__name__ = f"{name}_page"
    return view


def store_qr_link(request, code):
    """Where a store's QR poster points: the store's page in the member web centre."""
    return redirect(reverse("m-store", args=[code]) + _query(request))


def _query(request) -> str:
    query = request.META.get("QUERY_STRING", "")
    return f"?{query}" if query else ""
