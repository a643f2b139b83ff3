import pytest
from django.core.exceptions import ValidationError

from apps.core.phones import InvalidPhone, mask_phone, normalize_phone, validate_mobile


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+86 138 0013 8000",
        "8613800138000",
        "+8613800138000",
        "008613800138000",
        "138-0013-8000",
        "(138) 0013 8000",
        " 138 0013 8000 ",
        "１３８００１３８０００",  # full-width digits from a Chinese keyboard
    ],
)
def test_accepted_forms_normalise_to_eleven_digits(raw):
    assert normalize_phone(raw) == "13800138000"


@pytest.mark.parametrize("raw", ["19912345678", "16612345678", "14712345678", "17012345678"])
def test_newer_mobile_ranges_are_mobiles(raw):
    assert normalize_phone(raw) == raw


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "010-12345678",  # Beijing landline
        "021 6888 8888",  # Shanghai landline
        "1380013800",  # ten digits
        "138001380001",  # twelve digits
        "12345",
        "10086",  # service short number
        "+1 650 253 0000",  # not China
        "+852 9123 4567",  # Hong Kong
        "13800138000 ext. 12",
        "phone",
        "1" * 40,
        None,
        13800138000,
    ],
)
def test_rejected_forms_raise_invalid_phone(raw):
    with pytest.raises(InvalidPhone) as error:
        normalize_phone(raw)
    assert error.value.code == "invalid"


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13800138000", "138****8000"), ("19912345678", "199****5678"), ("", ""), ("12345", "1****")],
)
def test_mask(phone, masked):
    assert mask_phone(phone) == masked


def test_validator_wants_the_normal_form():
    validate_mobile("13800138000")
    with pytest.raises(ValidationError):
        validate_mobile("+86 138 0013 8000")
    with pytest.raises(ValidationError):
        validate_mobile("010-12345678")
