import numpy as np
import pytest
from pycocotools import mask as mask_utils

from projects import encoding


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (480, 640), (1000, 3)])
def test_rle_round_trip_reproduces_every_pixel(shape):
    rng = np.random.default_rng(0)
    mask = rng.random(shape) > 0.6
    rle = encoding.mask_to_rle(mask)
    assert isinstance(rle["counts"], str)
    assert rle["size"] == list(shape)
    assert np.array_equal(encoding.rle_to_mask(rle), mask)


@pytest.mark.parametrize("fill", [False, True])
def test_rle_round_trip_of_empty_and_full_masks(fill):
    mask = np.full((33, 17), fill)
    assert np.array_equal(encoding.rle_to_mask(encoding.mask_to_rle(mask)), mask)


def test_rle_is_standard_coco_compressed_rle():
    mask = np.zeros((20, 30), dtype=bool)
    mask[5:10, 3:23] = True
    rle = encoding.mask_to_rle(mask)
    decoded = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})
    assert decoded.sum() == 100
    assert encoding.rle_area(rle) == 100
    assert encoding.rle_bbox(rle) == [3.0, 5.0, 20.0, 5.0]


def test_rle_refuses_a_mask_that_is_not_2d():
    with pytest.raises(ValueError, match="2-D"):
        encoding.mask_to_rle(np.zeros((2, 3, 4), dtype=bool))


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.uint8, np.bool_])
def test_npz_round_trip_keeps_values_dtype_and_shape(dtype):
    rng = np.random.default_rng(1)
    array = (rng.standard_normal((3, 256, 256)) * 10).astype(dtype)
    restored = encoding.array_load(encoding.npz_bytes(array))
    assert restored.dtype == array.dtype
    assert restored.shape == array.shape
    assert np.array_equal(restored, array)


def test_npz_is_compressed():
    array = np.zeros((3, 256, 256), dtype=np.float32)
    assert len(encoding.npz_bytes(array)) < array.nbytes / 50


def test_array_load_refuses_pickled_objects():
    import io

    buffer = io.BytesIO()
    np.savez(buffer, array=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError):
        encoding.array_load(buffer.getvalue())


def test_array_load_refuses_foreign_archives():
    import io

    buffer = io.BytesIO()
    np.savez_compressed(buffer, logits=np.zeros(3))
    with pytest.raises(ValueError, match="not an array file"):
        encoding.array_load(buffer.getvalue())


def test_array_files_round_trip_under_media(settings):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    relative = encoding.array_save(array, project_id=7)
    assert relative.startswith("arrays/7/") and relative.endswith(".npz")
    assert (settings.MEDIA_ROOT / relative).is_file()
    assert not list((settings.MEDIA_ROOT / "arrays" / "7").glob("*.part"))
    assert np.array_equal(encoding.array_open(relative), array)
    encoding.array_delete(relative)
    assert not (settings.MEDIA_ROOT / relative).exists()


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.uint8, np.bool_])
def test_raw_array_files_round_trip_as_npy(settings, dtype):
    rng = np.random.default_rng(2)
    array = (rng.standard_normal((3, 128, 128)) * 10).astype(dtype)
    relative = encoding.array_save(array, project_id=8, compressed=False)
    assert relative.startswith("arrays/8/") and relative.endswith(".npy")
    assert (settings.MEDIA_ROOT / relative).stat().st_size > array.nbytes
    restored = encoding.array_open(relative)
    assert restored.dtype == array.dtype and np.array_equal(restored, array)


@pytest.mark.parametrize("compressed", [True, False])
def test_a_failed_array_write_leaves_no_file(settings, compressed):
    with pytest.raises(ValueError):
        encoding.array_save(np.array([{"a": 1}], dtype=object), project_id=9, compressed=compressed)
    assert not list((settings.MEDIA_ROOT / "arrays" / "9").iterdir())


def test_array_load_refuses_pickled_npy():
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError):
        encoding.array_load(buffer.getvalue())


def test_array_open_refuses_paths_outside_the_store(settings):
    secret = settings.MEDIA_ROOT / "uploads" / "x.npz"
    secret.parent.mkdir(parents=True)
    secret.write_bytes(encoding.npz_bytes(np.zeros(2)))
    with pytest.raises(ValueError, match="outside"):
        encoding.array_open("arrays/../uploads/x.npz")


def test_small_arrays_round_trip_through_json():
    points = np.array([[10.5, 20.0], [3.0, 4.25]], dtype=np.float32)
    assert encoding.array_to_json(points) == [[10.5, 20.0], [3.0, 4.25]]
    assert np.array_equal(encoding.json_to_array(encoding.array_to_json(points)), points)
    assert encoding.array_to_json(None) is None
    assert encoding.json_to_array(None) is None
