"""The file the editor shows: the stored bytes when a browser shows them as they are, an
oriented JPEG otherwise, with an ETag that a revalidation answers with 304."""

import io

import numpy as np
import pytest
from django.urls import reverse
from PIL import Image as PILImage
from PIL import ImageOps

from projects.models import Image, Source
from projects.sources.cache import cache_dir
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


@pytest.fixture
def fetch(team, api_client):
    client = api_client(team.viewer)

    def fetch(image: Image, **headers):
        return client.get(reverse("api:api-image-file", kwargs={"image_id": image.pk}), **headers)

    return fetch


def _photo(size=(64, 48)) -> np.ndarray:
    """A picture no turn leaves unchanged: a red top-left quarter on a grey gradient."""
    width, height = size
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:] = np.linspace(40, 200, width, dtype=np.uint8)[None, :, None]
    pixels[: height // 2, : width // 2] = (230, 30, 30)
    return pixels


def _jpeg(pixels: np.ndarray, orientation: int | None = None) -> bytes:
    exif = PILImage.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format="JPEG", quality=95, exif=exif)
    return buffer.getvalue()


def _noisy_jpeg() -> bytes:
    """A JPEG whose pixel data is most of the file, so a cut lands in the middle of it."""
    pixels = np.random.default_rng(4).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    return _jpeg(pixels)


def _shown(response) -> np.ndarray:
    with PILImage.open(io.BytesIO(response.content)) as shown:
        assert shown.getexif().get(0x0112, 1) == 1
        return np.asarray(shown.convert("RGB")).astype(int)


def test_a_jpeg_is_served_byte_for_byte_with_its_size_recorded(put, fetch):
    data = _jpeg(_photo())
    image = put("photo.jpg", data)
    response = fetch(image)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response.content == data
    image.refresh_from_db()
    assert (image.width, image.height) == (64, 48) and image.available


@pytest.mark.parametrize(("fmt", "kind"), [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_png_and_webp_are_served_as_stored(put, fetch, fmt, kind):
    data = image_bytes(fmt, size=(50, 20))
    response = fetch(put(f"picture.{fmt.lower()}", data))
    assert response.status_code == 200 and response["Content-Type"] == kind
    assert response.content == data


def test_an_exif_turned_jpeg_is_served_turned_at_the_size_the_editor_draws(put, fetch):
    data = _jpeg(_photo(), orientation=6)  # turn 90 degrees clockwise to view
    image = put("turned.jpg", data)
    response = fetch(image)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response.content != data
    shown = _shown(response)
    with PILImage.open(io.BytesIO(data)) as stored:
        expected = np.asarray(ImageOps.exif_transpose(stored).convert("RGB")).astype(int)
    assert shown.shape == (64, 48, 3) == expected.shape
    assert np.abs(shown - expected).mean() < 3
    # The red quarter sits top right once turned clockwise.
    assert shown[5, 40, 0] > 200 and shown[5, 5, 0] < 150
    image.refresh_from_db()
    assert (image.width, image.height) == (48, 64)


def test_a_tiff_is_converted_once_into_the_sources_cache(put, fetch, settings):
    pixels = _photo((80, 60))
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format="TIFF")
    image = put("scan.tif", buffer.getvalue())
    response = fetch(image)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert np.abs(_shown(response) - pixels.astype(int)).mean() < 3
    cached = [path for path in cache_dir().rglob("*") if path.is_file()]
    assert len(cached) == 1 and cached[0].read_bytes() == response.content
    again = fetch(image)
    assert again.content == response.content and again["ETag"] == response["ETag"]


def test_a_converted_file_larger_than_the_cache_is_served_and_not_kept(put, fetch, settings):
    settings.ANNOTATOR_SOURCE_CACHE_MB = 0
    image = put("scan.bmp", image_bytes("BMP", size=(40, 30)))
    response = fetch(image)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert not cache_dir().exists() or not any(p.is_file() for p in cache_dir().rglob("*"))


def test_sixteen_bit_grey_is_converted_with_the_contrast_the_model_sees(put, fetch):
    values = np.linspace(1000, 1200, 40 * 30, dtype=np.uint16).reshape(30, 40)
    buffer = io.BytesIO()
    PILImage.fromarray(values).save(buffer, format="PNG")
    response = fetch(put("deep.png", buffer.getvalue()))
    assert response["Content-Type"] == "image/jpeg"
    shown = _shown(response)
    assert shown.min() < 10 and shown.max() > 245


def test_every_answer_has_an_etag_and_a_revalidation_gets_304(put, fetch, settings):
    image = put("photo.jpg", _jpeg(_photo()))
    first = fetch(image)
    etag = first["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 10
    assert first["Cache-Control"].startswith("private, max-age=")
    revalidated = fetch(image, HTTP_IF_NONE_MATCH=etag)
    assert revalidated.status_code == 304 and revalidated.content == b""
    assert revalidated["ETag"] == etag
    assert fetch(image, HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    assert fetch(image, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200
    # The tag follows the content: a changed file is a new tag and a full answer.
    (settings.ANNOTATOR_UPLOAD_DIR / "t" / "photo.jpg").write_bytes(_jpeg(_photo()[::-1]))
    changed = fetch(image, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_a_converted_file_has_its_own_tag_and_revalidates(put, fetch):
    image = put("turned.jpg", _jpeg(_photo(), orientation=8))
    first = fetch(image)
    assert fetch(image, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


@pytest.mark.parametrize(
    "data",
    [
        b"not an image at all",
        _jpeg(_photo())[:300],
        _noisy_jpeg()[: len(_noisy_jpeg()) * 6 // 10],
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
    ],
    ids=["text", "jpeg-header-only", "jpeg-cut-in-its-pixels", "broken-png"],
)
def test_a_corrupt_file_answers_409_with_the_reason_and_is_flagged(put, fetch, data):
    image = put("broken.jpg", data)
    response = fetch(image)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "image_unavailable" and "image" in error["message"]
    image.refresh_from_db()
    assert not image.available and image.unavailable_reason


def test_a_missing_file_answers_409(put, fetch, settings):
    image = put("gone.jpg", _jpeg(_photo()))
    (settings.ANNOTATOR_UPLOAD_DIR / "t" / "gone.jpg").unlink()
    response = fetch(image)
    assert response.status_code == 409 and "gone" in response.json()["error"]["message"]


def test_only_members_get_the_file(put, team, api_client):
    image = put("photo.jpg", _jpeg(_photo()))
    url = reverse("api:api-image-file", kwargs={"image_id": image.pk})
    for member in (team.owner, team.annotator, team.viewer):
        assert api_client(member).get(url).status_code == 200
    outsider = api_client(team.outsider).get(url)
    assert outsider.status_code == 404 and b"\xff\xd8" not in outsider.content
    assert api_client(None).get(url).status_code in (401, 403)
