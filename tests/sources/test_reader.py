"""Reading any image of the pool: oriented RGB for the model, thumbnails, editor bytes."""

import io

import numpy as np
import pytest
from django.urls import reverse
from PIL import Image as PILImage

from projects.models import Image, Source
from projects.sources import reader
from projects.sources.thumbnails import thumbnail_path
from tests.sources.conftest import image_bytes


@pytest.fixture
def put(team, settings):
    """Place bytes in the upload folder and register them as an image of the project."""
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="up")

    def put(name: str, data: bytes) -> Image:
        path = settings.ANNOTATOR_UPLOAD_DIR / "t" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return Image.objects.create(project=team.project, source=source, path=f"t/{name}")

    return put


def _rotated_jpeg() -> bytes:
    """A 40 x 30 JPEG whose EXIF says: turn 90 degrees clockwise to view (orientation 6)."""
    picture = PILImage.fromarray(np.full((30, 40, 3), 200, dtype=np.uint8))
    exif = PILImage.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_exif_orientation_is_applied_and_the_viewed_size_recorded(put):
    image = put("turned.jpg", _rotated_jpeg())
    decoded = reader.load(image)
    assert decoded.rgb.shape == (40, 30, 3)
    image.refresh_from_db()
    assert (image.width, image.height) == (30, 40)


@pytest.mark.parametrize("mode", ["L", "I;16", "RGBA", "P", "LA", "RGB"])
def test_every_pixel_format_becomes_rgb_with_its_size_kept(put, mode):
    image = put(f"{mode.replace(';', '')}.png", image_bytes(mode=mode, size=(33, 21)))
    decoded = reader.load(image)
    assert decoded.rgb.dtype == np.uint8 and decoded.rgb.shape == (21, 33, 3)
    assert (decoded.width, decoded.height) == (33, 21)


def test_sixteen_bit_grey_keeps_its_contrast(put):
    decoded = reader.load(put("deep.png", image_bytes(mode="I;16", size=(64, 64))))
    assert decoded.rgb.min() == 0 and decoded.rgb.max() == 255


def test_a_missing_file_flags_the_image_and_the_rest_of_the_pool_still_reads(put, settings):
    gone = put("gone.png", image_bytes(seed=1))
    fine = put("fine.png", image_bytes(seed=2))
    (settings.ANNOTATOR_UPLOAD_DIR / "t" / "gone.png").unlink()
    with pytest.raises(reader.ImageUnavailable, match="gone"):
        reader.load(gone)
    gone.refresh_from_db()
    assert not gone.available and "gone" in gone.unavailable_reason and gone.checked_at
    assert reader.load(fine).width == 40


def test_a_thumbnail_is_served_small_and_cached(put, team, api_client, settings):
    image = put("big.png", image_bytes(size=(800, 400)))
    client = api_client(team.viewer)
    url = reverse("api:api-image-thumbnail", kwargs={"image_id": image.pk})
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    with PILImage.open(io.BytesIO(b"".join(response.streaming_content))) as thumb:
        assert thumb.size == (256, 128)
    image.refresh_from_db()
    cached = thumbnail_path(image.key)
    assert cached.is_file()
    # Served from the cache, without reading the original again.
    (settings.ANNOTATOR_UPLOAD_DIR / "t" / "big.png").unlink()
    assert client.get(url).status_code == 200


def test_the_editor_gets_the_oriented_image(put, team, api_client):
    image = put("turned.jpg", _rotated_jpeg())
    response = api_client(team.viewer).get(
        reverse("api:api-image-file", kwargs={"image_id": image.pk})
    )
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    with PILImage.open(io.BytesIO(response.content)) as shown:
        assert shown.size == (30, 40) and shown.mode == "RGB"


def test_an_unreadable_image_answers_409_with_the_reason(put, team, api_client, settings):
    image = put("gone.png", image_bytes())
    (settings.ANNOTATOR_UPLOAD_DIR / "t" / "gone.png").unlink()
    for name in ("api:api-image-file", "api:api-image-thumbnail"):
        response = api_client(team.viewer).get(reverse(name, kwargs={"image_id": image.pk}))
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "image_unavailable" and "gone" in error["message"]
