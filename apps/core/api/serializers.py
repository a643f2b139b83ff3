import functools

from rest_framework import serializers


def represented(serializer_class: type[serializers.Serializer], instance) -> dict:
    """`serializer_class(instance).data` for an output serializer that needs no context,
    with its fields built once per process rather than deep-copied for every instance (as
    a list serializer builds them once for all its items). On the hot endpoints building
    the fields took longer than the rest of the answer."""
    return _reusable(serializer_class).to_representation(instance)


@functools.cache
def _reusable(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    return serializer_class()
