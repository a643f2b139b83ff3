"""The signed-in member's address book (收货地址), for delivered online orders."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.core.api.schema import errors
from apps.members.addresses import address_delete, address_save, member_address, member_addresses
from apps.miniprogram.api.base import MemberApi


class AddressSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=50)
    phone = serializers.CharField(max_length=32, help_text="A mainland China mobile number.")
    region = serializers.CharField(max_length=100, help_text="浙江省/杭州市/西湖区")
    detail = serializers.CharField(max_length=200)
    is_default = serializers.BooleanField(required=False)


class MeAddressesApi(MemberApi):
    @extend_schema(responses=AddressSerializer(many=True), operation_id="me_addresses")
    def get(self, request):
        return Response(AddressSerializer(member_addresses(self.member), many=True).data)

    @extend_schema(
        request=AddressSerializer,
        responses={201: AddressSerializer, **errors(400)},
        operation_id="me_address_add",
    )
    def post(self, request):
        data = AddressSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        address = address_save(member=self.member, **data.validated_data)
        return Response(AddressSerializer(address).data, status=status.HTTP_201_CREATED)


class MeAddressApi(MemberApi):
    @extend_schema(
        request=AddressSerializer,
        responses={200: AddressSerializer, **errors(400, 404)},
        operation_id="me_address_update",
    )
    def patch(self, request, address_id):
        address = member_address(self.member, address_id)
        data = AddressSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        address = address_save(member=self.member, address=address, **data.validated_data)
        return Response(AddressSerializer(address).data)

    @extend_schema(responses={204: None, **errors(404)}, operation_id="me_address_delete")
    def delete(self, request, address_id):
        address_delete(address=member_address(self.member, address_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
