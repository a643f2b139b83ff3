"""Product pictures: checked when uploaded, stored once under their content's hash, a
thumbnail made then; served with a year's immutable cache."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from apps.core.media import IMMUTABLE
from apps.mall.images import MAX_BYTES, image_check, product_image_clear, product_image_set
from tests.mall.factories import ProductFactory


def picture(size=(800, 600), *, kind="JPEG", mode="RGB", colour="red", exif=None) -> bytes:
    buffer = io.BytesIO()
    options = {"exif": exif} if exif is not None else {}
    Image.new(mode, size, colour).save(buffer, format=kind, **options)
    return buffer.getvalue()


def upload(content: bytes, name="p.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def opened(name: str) -> Image.Image:
    with default_storage.open(name) as file:
        image = Image.open(io.BytesIO(file.read()))
        image.load()
        return image


@pytest.mark.django_db
def test_a_picture_is_stored_under_its_hash_with_a_small_rgb_webp_thumbnail():
    first, second = ProductFactory(), ProductFactory()
    content = picture((1200, 900))

    product_image_set(first, upload(content, "IMG_0001.JPG"))
    product_image_set(second, upload(content, "other.jpg"))

    assert first.image.name == second.image.name  # stored once
    assert first.image.name.startswith("products/") and first.image.name.endswith(".jpg")
    assert "IMG_0001" not in first.image.name
    thumbnail = opened(first.thumbnail.name)
    assert (thumbnail.format, thumbnail.mode, thumbnail.size) == ("WEBP", "RGB", (400, 300))


@pytest.mark.django_db
def test_the_thumbnail_is_turned_upright_as_the_camera_said():
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned a quarter clockwise
    product = ProductFactory()

    product_image_set(product, upload(picture((800, 400), exif=exif)))

    assert opened(product.thumbnail.name).size == (200, 400)


@pytest.mark.django_db
def test_a_transparent_png_is_thumbnailed_on_white():
    product = ProductFactory()

    product_image_set(
        product, upload(picture((50, 50), kind="PNG", mode="RGBA", colour=(0, 0, 0, 0)), "p.png")
    )

    thumbnail = opened(product.thumbnail.name)
    assert thumbnail.mode == "RGB"
    assert all(channel > 240 for channel in thumbnail.getpixel((25, 25)))


@pytest.mark.django_db
def test_clearing_the_picture_clears_its_thumbnail_and_keeps_the_files():
    product = ProductFactory()
    product_image_set(product, upload(picture()))
    name = product.image.name

    product_image_clear(product)

    assert (product.image.name, product.thumbnail.name) == ("", "")
    assert default_storage.exists(name)


@pytest.mark.parametrize(
    "content, name, code",
    [
        (b"not a picture at all", "p.jpg", "image_format"),
        (picture(kind="GIF", mode="P"), "p.gif", "image_format"),
        (picture()[:200], "p.jpg", "image_format"),  # cut short
        (b"\0" * (MAX_BYTES + 1), "p.jpg", "image_too_large"),
        # a few kilobytes that would unpack into 30 million pixels
        (picture((6000, 5000), kind="PNG", mode="1", colour=0), "p.png", "image_too_large"),
    ],
    ids=["text", "gif", "truncated", "over-5-mb", "pixel-bomb"],
)
def test_what_is_refused(content, name, code):
    with pytest.raises(ValidationError) as refused:
        image_check(upload(content, name))

    assert refused.value.code == code


def test_a_huge_claimed_size_is_refused_before_it_is_unpacked():
    bomb = picture((1, 1), kind="PNG")
    # the PNG header (IHDR) claims 100 000 × 100 000 pixels
    forged = bomb[:16] + (100_000).to_bytes(4, "big") * 2 + bomb[24:]

    with pytest.raises(ValidationError) as refused:
        image_check(upload(forged, "p.png"))

    assert refused.value.code in ("image_too_large", "image_format")


@pytest.mark.django_db
def test_media_is_served_with_an_immutable_cache(client):
    product = ProductFactory()
    product_image_set(product, upload(picture()))

    response = client.get(product.thumbnail.url)

    assert response.status_code == 200
    assert response["Cache-Control"] == IMMUTABLE
    assert response["Content-Type"] == "image/webp"
    assert client.get("/media/../config/settings/__init__.py").status_code == 400
    assert client.post(product.thumbnail.url).status_code == 405
