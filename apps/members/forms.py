from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.phones import InvalidPhone, normalize_phone
from apps.members.models import Member


class MemberByPhoneField(forms.CharField):
    """A member picked in an HQ form by their mobile number, typed as people type it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("member's mobile"))
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        try:
            phone = normalize_phone(value)
        except InvalidPhone as error:
            raise forms.ValidationError(error.render()) from error
        member = Member.objects.filter(
            phone=phone, status__in=[Member.Status.ACTIVE, Member.Status.FROZEN]
        ).first()
        if member is None:
            raise forms.ValidationError(_("No member has this mobile number."))
        return member
