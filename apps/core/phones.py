"""Mainland China mobile numbers: one normal form (11 digits) and one mask."""

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.errors import Invalid

_MAX_INPUT = 32


class InvalidPhone(Invalid):
    default_message = _("Enter a mainland China mobile number, such as 138 0013 8000.")


def normalize_phone(raw: str) -> str:
    """'+86 138 0013 8000', '8613800138000', '138-0013-8000' → '13800138000'.

    Landlines, short numbers, numbers of other countries and extensions raise InvalidPhone.
    """
    if not isinstance(raw, str) or not raw.strip() or len(raw) > _MAX_INPUT:
        raise InvalidPhone()
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone() from exc
    if (
        number.country_code != 86
        or number.extension
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE
    ):
        raise InvalidPhone()
    return str(number.national_number)


def mask_phone(phone: str) -> str:
    """'13800138000' → '138****8000'. Shown everywhere outside HQ (DESIGN.md, invariant 5)."""
    if not phone:
        return ""
    if len(phone) <= 7:
        return phone[:1] + "*" * (len(phone) - 1)
    return f"{phone[:3]}****{phone[-4:]}"


def validate_mobile(value: str) -> None:
    """Model and form validator: the value must already be in normal form."""
    try:
        normal = normalize_phone(value)
    except InvalidPhone as exc:
        raise ValidationError(exc.render(), code="invalid_phone") from exc
    if normal != value:
        raise ValidationError(
            _("Store the number as 11 digits, such as 13800138000."), code="invalid_phone"
        )


class MobileFormField(forms.CharField):
    """Takes a number as people type it and cleans it to the normal form."""

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        try:
            return normalize_phone(value)
        except InvalidPhone as exc:
            raise ValidationError(exc.render(), code="invalid_phone") from exc


class MobileField(models.CharField):
    """A mainland China mobile number, stored as its 11 digits."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 11)
        super().__init__(*args, **kwargs)
        self.validators.append(validate_mobile)

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": MobileFormField, "max_length": 32, **kwargs})
