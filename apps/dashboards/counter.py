"""Counter tools for a store without a POS integration: identify a member, redeem a coupon,
record a sale. The sale goes through the same checkout as the POS API (`checkout_build`,
`order_quote`, `order_place_at_till`), and finds its member by the same rule
(`member_identify`): by member code anyone, by phone only the members whose home store the
person at the counter works in (`staff_scope`, whatever HQ permissions they also hold);
points are spent only with the member's code or a code texted to them that they read out.

Only the people who work the store's till use it (`works_till`: its or its dealer's owners,
managers, clerks and guides); anyone else who may see the store (HQ) reads the page, and
every form they send is refused with 403.

The member being served is kept in the session, per store, never in the address: a clerk
can only reach a member by their code or phone number, as at a POS. A member code scanned
to identify is kept with them, to prove them present for points, and spent with the sale
whatever it uses, as at a POS."""

from functools import wraps

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.core.errors import DomainError
from apps.coupons.redemption import coupon_redeem
from apps.coupons.selectors import usable_coupons
from apps.dashboards.errors import NotAtTill
from apps.dashboards.forms import (
    IdentifyForm,
    PickupForm,
    RedeemForm,
    SaleForm,
    SaleLineFormSet,
)
from apps.dashboards.views import store_page, store_render
from apps.members.credentials import Identified, member_identify, member_otp_send
from apps.members.errors import MemberNotFound
from apps.members.models import Member
from apps.members.selectors import guide_code_of, member_active
from apps.orders.builder import ItemInput, checkout_build, order_place_at_till
from apps.orders.checkout import Checkout, order_quote
from apps.orders.errors import OrderNotFound
from apps.orders.fulfilment import pickup_complete
from apps.orders.models import Order
from apps.orders.selectors import store_order, store_pickup
from apps.points.selectors import points_available
from apps.stores.scoping import staff_scope, works_till
from apps.tiers.selectors import member_tier

LINES_PREFIX = "lines"


def _session_key(store) -> str:
    return f"counter-member:{store.pk}"


def _code_key(store) -> str:
    return f"counter-member-code:{store.pk}"


def _served_member(request, store) -> Member | None:
    member_id = request.session.get(_session_key(store))
    return member_active(member_id) if member_id is not None else None


def _forget(request, store) -> None:
    request.session.pop(_session_key(store), None)
    request.session.pop(_code_key(store), None)


def till_action(view):
    """A form sent to the counter: by POST, to a store one may see (`store_page`), by
    someone who works its till, else 403 with the page saying why and nothing done."""

    @require_POST
    @store_page
    @wraps(view)
    def action(request, store):
        request.works_till = works_till(request.user, store)
        if not request.works_till:
            return _counter_page(request, store, status=403)
        return view(request, store)

    return action


def _sale_member(request, store, member: Member | None, *, proof: str, points: int):
    """The served member; for a sale that spends points, with the proof they are here: the
    member code or texted code typed on the sale form, else the member code scanned to
    identify them. A sale that only earns needs neither."""
    if member is None:
        return None
    proof = (proof or request.session.get(_code_key(store), "")) if points else ""
    member_code, otp = (proof, "") if len(proof) == 18 else ("", proof)  # 18 digits: 会员码
    return member_identify(store=store, member_id=member.pk, member_code=member_code, otp=otp)


def _counter_page(
    request, store, *, sale_form=None, lines=None, quote=None, pickup=None, status=200
):
    member = _served_member(request, store)
    receipt = None
    if order_no := request.GET.get("receipt"):
        receipt = Order.objects.filter(store=store, order_no=order_no).first()
    response = store_render(
        request,
        "dashboards/counter.html",
        store,
        not_at_till="" if request.works_till else NotAtTill().render(),
        member=member,
        member_tier=member_tier(member) if member else None,
        member_points=points_available(member) if member else 0,
        member_coupons=usable_coupons(member, store=store, channel="store") if member else [],
        # a coupon is spent by its code, which only its holder shows: not for a phone typed in
        show_coupon_codes=bool(request.session.get(_code_key(store))),
        identify_form=IdentifyForm(),
        redeem_form=RedeemForm(),
        sale_form=sale_form or SaleForm(initial={"guide_code": guide_code_of(request.user, store)}),
        lines=lines or SaleLineFormSet(prefix=LINES_PREFIX),
        quote=quote,
        receipt=receipt,
        pickup=pickup,
    )
    response.status_code = status
    return response


@store_page
def counter(request, store):
    request.works_till = works_till(request.user, store)
    return _counter_page(request, store)


@till_action
def counter_identify(request, store):
    form = IdentifyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Type or scan a member code or a phone number."))
        return redirect("dashboards:counter", code=store.code)
    who = form.cleaned_data["who"]
    try:
        identified = member_identify(
            store=store,
            phone=who.get("phone", ""),
            member_code=who.get("member_code", ""),
            scope=staff_scope(request.user),
        )
    except DomainError as error:
        messages.error(request, error.render())
    else:
        request.session[_session_key(store)] = identified.member.pk
        request.session[_code_key(store)] = identified.member_code
    return redirect("dashboards:counter", code=store.code)


@till_action
def counter_otp(request, store):
    """Text the served member a code to read out, to use their points without their code."""
    member = _served_member(request, store)
    try:
        if member is None:
            raise MemberNotFound()
        member_otp_send(member=member, store=store)
    except DomainError as error:
        messages.error(request, error.render())
    else:
        messages.success(
            request,
            _("A code was texted to %(phone)s. Type the code the member reads out.")
            % {"phone": member.phone_masked},
        )
    return redirect("dashboards:counter", code=store.code)


@till_action
def counter_forget(request, store):
    _forget(request, store)
    return redirect("dashboards:counter", code=store.code)


@till_action
def counter_redeem(request, store):
    form = RedeemForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Type or scan the coupon's code."))
        return redirect("dashboards:counter", code=store.code)
    try:
        coupon = coupon_redeem(code=form.cleaned_data["code"], store=store)
    except DomainError as error:
        messages.error(request, error.render())
    else:
        messages.success(
            request,
            _("Redeemed %(coupon)s of %(member)s.")
            % {"coupon": coupon.template.name, "member": coupon.member.phone_masked},
        )
    return redirect("dashboards:counter", code=store.code)


@till_action
def counter_pickup(request, store):
    """An online order picked up: the code typed or scanned shows the order's lines; the
    goods are handed over when the clerk confirms (`pickup_complete`, once)."""
    form = PickupForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Type or scan the member's pickup code."))
        return redirect("dashboards:counter", code=store.code)
    code = form.cleaned_data["code"]
    try:
        if "confirm" not in request.POST:
            return _counter_page(request, store, pickup=store_pickup(store, code))
        order = pickup_complete(store=store, pickup_code=code, actor=request.user)
    except DomainError as error:
        messages.error(request, error.render())
    else:
        messages.success(
            request, _("Order %(order_no)s handed over.") % {"order_no": order.order_no}
        )
    return redirect("dashboards:counter", code=store.code)


def _sale_items(lines) -> list[ItemInput]:
    """The rows typed in; a row without a price takes the catalogue's (checkout_build)."""
    return [
        ItemInput(sku=row["sku"], quantity=row["quantity"], unit_price=row.get("unit_price"))
        for row in lines.cleaned_data
        if row and row.get("sku")
    ]


@till_action
def counter_sale(request, store):
    form = SaleForm(request.POST)
    lines = SaleLineFormSet(request.POST, prefix=LINES_PREFIX)
    member = _served_member(request, store)
    if not (form.is_valid() and lines.is_valid()):
        return _counter_page(request, store, sale_form=form, lines=lines, status=400)
    try:
        items = _sale_items(lines)
        if not items:
            raise DomainError(_("Add at least one item."))
        points = (form.cleaned_data["points"] or 0) if member else 0
        identified = _sale_member(
            request, store, member, proof=form.cleaned_data["member_proof"], points=points
        )
        checkout = checkout_build(
            store=store,
            channel="pos",
            items=items,
            identified=identified,
            coupon_codes=form.cleaned_data["coupon_codes"],
            points=points,
            guide_code=form.cleaned_data["guide_code"],
        )
        if "quote" in request.POST:
            quote = order_quote(checkout).as_dict()
            return _counter_page(request, store, sale_form=form, lines=lines, quote=quote)
        order = _sale_record(
            checkout,
            identified,
            f"counter-{form.cleaned_data['key']}",
            scanned=request.session.get(_code_key(store), ""),
        )
    except DomainError as error:
        messages.error(request, error.render())
        return _counter_page(request, store, sale_form=form, lines=lines, status=400)
    _forget(request, store)
    return redirect(f"{reverse('dashboards:counter', args=[store.code])}?receipt={order.order_no}")


def _sale_record(
    checkout: Checkout, identified: Identified | None, external_id: str, *, scanned: str
) -> Order:
    """The sale, its member's proof and the member code `scanned` to identify them spent
    with it (`order_place_at_till`). The page carries on after a refusal, so the sale takes
    a savepoint of its own: a refused sale leaves nothing half done. The same form sent
    twice answers the first sale (its proof is spent by then, its external id taken)."""
    try:
        with transaction.atomic():
            return order_place_at_till(
                checkout=checkout, identified=identified, external_id=external_id, scanned=scanned
            )
    except DomainError as refused:
        try:
            return store_order(checkout.store, external_id)
        except OrderNotFound:
            raise refused from None
