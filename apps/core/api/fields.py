from rest_framework import serializers

from apps.core.phones import InvalidPhone, normalize_phone


class PhoneField(serializers.CharField):
    """A mainland China mobile number as people type it, cleaned to its 11 digits."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            return normalize_phone(super().to_internal_value(data))
        except InvalidPhone as exc:
            raise serializers.ValidationError(exc.render(), code="invalid") from exc
