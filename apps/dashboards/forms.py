"""The dashboard's forms: what a shop owner or clerk types, checked before a service runs."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.phones import InvalidPhone, normalize_phone
from apps.core.text import comma_separated


class OnceForm(forms.Form):
    """A form whose submission must act once: the key rendered with it makes a double tap
    or a resubmitted page answer what the first one did."""

    key = forms.CharField(widget=forms.HiddenInput, max_length=40)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)


class GiveCouponForm(OnceForm):
    template = forms.TypedChoiceField(label=_("Coupon"), coerce=int)

    def __init__(self, *args, allowances, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [
            (t.pk, _("%(name)s (%(left)s left)") % {"name": t.name, "left": t.left})
            for t in allowances
            if t.left
        ]


class TagForm(forms.Form):
    name = forms.CharField(label=_("Tag"), max_length=30)


class IdentifyForm(forms.Form):
    who = forms.CharField(
        label=_("Member code or phone"),
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean_who(self) -> dict:
        """A mobile number, or else the member code shown in the mini-program."""
        value = self.cleaned_data["who"].strip().replace(" ", "")
        try:
            return {"phone": normalize_phone(value)}
        except InvalidPhone:
            return {"member_code": value}


class RedeemForm(forms.Form):
    code = forms.CharField(
        label=_("Coupon code"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )


class SaleLineForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), max_length=64, required=False)
    quantity = forms.IntegerField(label=_("Qty"), min_value=1, max_value=9999, initial=1)
    unit_price = forms.DecimalField(
        label=_("Unit price"),
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("Empty: the catalogue price."),
    )


SaleLineFormSet = forms.formset_factory(SaleLineForm, extra=3, max_num=50, absolute_max=50)


class SaleForm(OnceForm):
    coupon_codes = forms.CharField(
        label=_("Coupon codes"),
        max_length=200,
        required=False,
        help_text=_("Separate several codes with commas."),
    )
    points = forms.IntegerField(label=_("Points to use"), min_value=0, required=False)
    member_proof = forms.CharField(
        label=_("Member code or texted code"),
        max_length=32,
        required=False,
        help_text=_(
            "Using points needs the member here: their member code, or the code texted to them."
        ),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    guide_code = forms.CharField(label=_("Guide code"), max_length=12, required=False)

    def clean_member_proof(self) -> str:
        return self.cleaned_data["member_proof"].strip().replace(" ", "")

    def clean_coupon_codes(self) -> list[str]:
        codes = comma_separated(self.cleaned_data["coupon_codes"].replace("，", ","))
        return sorted(code.upper() for code in codes)


class PickupForm(forms.Form):
    code = forms.CharField(label=_("Pickup code"), max_length=12)


class ShipForm(forms.Form):
    carrier = forms.CharField(label=_("Carrier"), max_length=50)
    tracking_no = forms.CharField(label=_("Tracking number"), max_length=64)
