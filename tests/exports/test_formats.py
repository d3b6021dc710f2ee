"""Every format and mask form gives back the stored masks, pixel for pixel."""

import csv
import io
import json
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image as PILImage
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from projects.encoding import mask_to_rle, rle_to_mask
from projects.exports.formats import ExportOptions
from projects.exports.selectors import Scope
from projects.exports.services import export_write
from projects.models import Image, Label, MaskObject, Source
from projects.sources import reader
from tests.conftest import write_png

ALL_RECORDS = ("objects", "predictions", "automask")


def export(scene, tmp_path, *, scope=None, **options) -> tuple:
    options.setdefault("records", ALL_RECORDS)
    target = tmp_path / "export.out"
    counts = export_write(
        project=scene.project,
        scope=scope or Scope(kind="pool"),
        options=ExportOptions(**options),
        target=target,
    )
    return target, counts


def load_coco(path) -> COCO:
    coco = COCO()
    coco.dataset = json.loads(path.read_text())
    coco.createIndex()
    return coco


@pytest.mark.parametrize("mask_form", ["coco_rle", "uncompressed_rle", "polygons"])
def test_coco_annotations_rasterize_to_the_stored_masks(annotated, tmp_path, mask_form):
    path, counts = export(annotated, tmp_path, format="coco", mask_form=mask_form)
    coco = COCO(str(path))  # the file as training code opens it
    assert counts == {"images": 3, "masks": 4 + 1 + 4}
    for annotation in coco.loadAnns(coco.getAnnIds()):
        attributes = annotation["attributes"]
        expected = annotated.expected(attributes["record"], attributes["record_id"])
        assert np.array_equal(coco.annToMask(annotation).astype(bool), expected)
        assert annotation["area"] == int(expected.sum())
        assert annotation["iscrowd"] == 0


def test_coco_images_keep_ids_names_and_sizes(annotated, tmp_path):
    coco = load_coco(export(annotated, tmp_path, format="coco")[0])
    assert {(i["id"], i["file_name"], i["width"], i["height"]) for i in coco.dataset["images"]} == {
        (image.pk, image.path, image.width, image.height) for image in annotated.images
    }


def test_coco_categories_are_the_project_labels_numbered_from_one(annotated, tmp_path):
    coco = load_coco(export(annotated, tmp_path, format="coco")[0])
    categories = {c["id"]: (c["name"], c.get("label_id")) for c in coco.dataset["categories"]}
    labels = annotated.labels
    # COCO readers (torchvision, detectron2, datumaro) take category 0 for the background.
    assert categories == {
        1: ("cell", labels["cell"].pk),
        2: ("nucleus", labels["nucleus"].pk),
        3: ("object", labels["object"].pk),
        4: ("unlabeled", None),
    }
    by_record = {
        a["attributes"]["record_id"]: a
        for a in coco.dataset["annotations"]
        if a["attributes"]["record"] == "object"
    }
    ring, pair, edge = annotated.objects[:3]
    assert by_record[ring.pk]["category_id"] == 1
    assert by_record[pair.pk]["category_id"] == 2
    assert by_record[edge.pk]["category_id"] == 4


def test_coco_lists_unlabeled_only_when_a_mask_has_no_label(annotated, tmp_path):
    MaskObject.objects.filter(label__isnull=True).delete()
    coco = load_coco(export(annotated, tmp_path, format="coco", records=("objects",))[0])
    assert [c["name"] for c in coco.dataset["categories"]] == ["cell", "nucleus", "object"]
    assert {a["category_id"] for a in coco.dataset["annotations"]} == {1, 2}


def test_coco_bbox_and_score_follow_the_masks(annotated, tmp_path):
    coco = load_coco(export(annotated, tmp_path, format="coco")[0])
    for annotation in coco.dataset["annotations"]:
        record = annotation["attributes"]["record"]
        assert ("score" in annotation) == (record != "object")
        mask = annotated.expected(record, annotation["attributes"]["record_id"])
        ys, xs = np.nonzero(mask)
        x0, y0 = xs.min(), ys.min()
        assert annotation["bbox"] == [x0, y0, xs.max() - x0 + 1, ys.max() - y0 + 1]
    iou = {m.pk: m.predicted_iou for m in annotated.automask}
    for annotation in coco.dataset["annotations"]:
        if annotation["attributes"]["record"] == "automask":
            assert annotation["score"] == pytest.approx(iou[annotation["attributes"]["record_id"]])


def test_polygons_fall_back_to_rle_only_for_masks_with_holes(annotated, tmp_path):
    coco = load_coco(export(annotated, tmp_path, format="coco", mask_form="polygons")[0])
    forms = {
        a["attributes"].get("name"): a["segmentation"]
        for a in coco.dataset["annotations"]
        if a["attributes"]["record"] == "object"
    }
    assert isinstance(forms["ring"], dict)  # a hole: compressed RLE
    assert isinstance(forms["pair"], list) and len(forms["pair"]) == 2  # one polygon per part
    assert isinstance(forms["edge"], list)


def test_uncompressed_rle_is_plain_run_lengths(annotated, tmp_path):
    coco = load_coco(export(annotated, tmp_path, format="coco", mask_form="uncompressed_rle")[0])
    for annotation in coco.dataset["annotations"]:
        segmentation = annotation["segmentation"]
        assert all(isinstance(count, int) for count in segmentation["counts"])
        height, width = segmentation["size"]
        assert sum(segmentation["counts"]) == height * width


def test_records_choice_selects_what_is_exported(annotated, tmp_path):
    coco = load_coco(export(annotated, tmp_path, format="coco", records=("predictions",))[0])
    records = {a["attributes"]["record"] for a in coco.dataset["annotations"]}
    assert records == {"prediction"}
    (annotation,) = coco.dataset["annotations"]
    assert annotation["score"] == pytest.approx(0.8)  # the kept output's score


def test_scope_one_image_or_a_filter(annotated, tmp_path):
    first = annotated.images[0]
    coco = load_coco(export(annotated, tmp_path, scope=Scope("image", image_id=first.pk))[0])
    assert [i["id"] for i in coco.dataset["images"]] == [first.pk]
    first.completed = True
    first.refresh_status()
    first.save()
    coco = load_coco(export(annotated, tmp_path, scope=Scope("filter", completed_only=True))[0])
    assert [i["id"] for i in coco.dataset["images"]] == [first.pk]
    coco = load_coco(export(annotated, tmp_path, scope=Scope("filter", status="in_progress"))[0])
    assert {i["id"] for i in coco.dataset["images"]} == {i.pk for i in annotated.images[1:]}


def test_binary_masks_are_one_png_per_object(annotated, tmp_path):
    path, counts = export(annotated, tmp_path, format="binary_mask", label_map=True)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        for entry in manifest["images"]:
            for item in entry["masks"]:
                png = np.asarray(PILImage.open(io.BytesIO(archive.read(item["file"]))))
                assert png.shape == (entry["height"], entry["width"])
                assert set(np.unique(png)) <= {0, 255}
                expected = annotated.expected(item["record"], item["record_id"])
                assert np.array_equal(png == 255, expected)
            label_map = np.asarray(PILImage.open(io.BytesIO(archive.read(entry["label_map"]))))
            for item in entry["masks"]:
                if item["record"] == "object" and item.get("name") == "pair":
                    pixels = annotated.expected("object", item["record_id"])
                    assert (label_map[pixels] == item["class_index"]).all()
    assert manifest["classes"][0] == "background"
    assert counts["masks"] == 9


def test_seed_json_has_inputs_and_outputs_per_image(annotated, tmp_path):
    path, _ = export(annotated, tmp_path, format="seed_json", include_logits=True)
    document = json.loads(path.read_text())["images"]
    by_id = {entry["image_id"]: entry for entry in document.values()}
    assert set(document) == {image.key for image in annotated.images}
    second = by_id[annotated.images[1].pk]
    prediction = annotated.predictions[0]
    assert second["source"] == "client" and second["path"] == "plate-1.png"
    assert second["inputs"]["point_coords"] == prediction.point_coords
    assert second["inputs"]["point_labels"] == prediction.point_labels
    assert np.array(second["inputs"]["mask_input"]).shape == (1, 16, 16)
    assert second["outputs"]["scores"] == prediction.scores
    assert np.array(second["outputs"]["logits"]).shape == (3, 16, 16)
    assert np.array_equal(
        rle_to_mask(second["outputs"]["final_masks"][0]), rle_to_mask(prediction.final_mask)
    )
    third = by_id[annotated.images[2].pk]
    assert third["automask"][0]["params"] == {"pps": 8}
    assert len(third["automask"][0]["masks"]) == 4
    first = by_id[annotated.images[0].pk]
    assert [m["label"] for m in first["final_masks"]] == ["cell", "nucleus", None]
    for item in first["final_masks"]:
        assert np.array_equal(rle_to_mask(item["mask"]), annotated.expected("object", item["id"]))


def test_seed_json_uncompressed_masks_decode_with_pycocotools(annotated, tmp_path):
    path, _ = export(annotated, tmp_path, format="seed_json", mask_form="uncompressed_rle")
    document = json.loads(path.read_text())["images"]
    for entry in document.values():
        for item in entry["final_masks"]:
            height, width = item["mask"]["size"]
            decoded = mask_utils.decode(mask_utils.frPyObjects(item["mask"], height, width))
            assert np.array_equal(decoded.astype(bool), annotated.expected("object", item["id"]))


@pytest.mark.parametrize("mask_form", ["coco_rle", "uncompressed_rle"])
def test_csv_has_one_row_per_mask(annotated, tmp_path, mask_form):
    path, _ = export(annotated, tmp_path, format="csv", mask_form=mask_form)
    rows = list(csv.DictReader(path.open(newline="")))
    assert len(rows) == 9
    for row in rows:
        height, width = int(row["height"]), int(row["width"])
        if mask_form == "coco_rle":
            rle = {"size": [height, width], "counts": row["rle"].encode()}
        else:
            counts = [int(c) for c in row["rle"].split()]
            rle = mask_utils.frPyObjects({"size": [height, width], "counts": counts}, height, width)
        decoded = mask_utils.decode(rle)
        expected = annotated.expected(row["record"], int(row["record_id"]))
        assert np.array_equal(decoded.astype(bool), expected)
        assert int(row["area"]) == expected.sum()
        assert row["source_path"] in {image.path for image in annotated.images}
    labels = {row["label"] for row in rows}
    assert labels == {"cell", "nucleus", "unlabeled"}


def test_voc_maps_hold_class_and_instance_per_pixel(annotated, tmp_path):
    path, _ = export(annotated, tmp_path, format="voc", records=("objects",))
    with zipfile.ZipFile(path) as archive:
        names = archive.read("ImageSets/Segmentation/default.txt").decode().split()
        assert names == ["plate-0", "plate-1", "plate-2"]
        classes = np.asarray(
            PILImage.open(io.BytesIO(archive.read("SegmentationClass/plate-0.png")))
        )
        objects = np.asarray(
            PILImage.open(io.BytesIO(archive.read("SegmentationObject/plate-0.png")))
        )
        labelmap = archive.read("labelmap.txt").decode().splitlines()[1:]
    class_names = [line.split(":")[0] for line in labelmap]
    ring, pair, edge = (annotated.expected("object", o.pk) for o in annotated.objects[:3])
    assert (classes[ring] == class_names.index("cell")).all()
    assert (classes[pair] == class_names.index("nucleus")).all()
    assert (classes[edge] == class_names.index("unlabeled")).all()
    assert (classes[~(ring | pair | edge)] == 0).all()
    assert len(np.unique(objects[ring])) == 1 and len(np.unique(objects[pair])) == 1
    assert len(set(np.unique(objects)) - {0}) == 3


def test_exif_rotated_image_exports_with_the_size_a_person_sees(team, settings, tmp_path):
    upload_dir = settings.ANNOTATOR_UPLOAD_DIR
    upload_dir.mkdir(parents=True, exist_ok=True)
    exif = PILImage.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90 degrees: portrait
    PILImage.new("RGB", (40, 20), "red").save(upload_dir / "phone.jpg", exif=exif.tobytes())
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="phone")
    image = Image.objects.create(project=team.project, source=source, path="phone.jpg")
    decoded = reader.load(image)
    mask = np.zeros((decoded.height, decoded.width), dtype=bool)
    mask[30:38, 2:9] = True
    MaskObject.objects.create(image=image, mask=mask_to_rle(mask))

    target = tmp_path / "coco.json"
    export_write(
        project=team.project,
        scope=Scope("pool"),
        options=ExportOptions(format="coco", mask_form="polygons"),
        target=target,
    )
    coco = COCO(str(target))
    (entry,) = coco.dataset["images"]
    assert (entry["id"], entry["file_name"], entry["width"], entry["height"]) == (
        image.pk,
        "phone.jpg",
        20,
        40,
    )
    (annotation,) = coco.dataset["annotations"]
    assert np.array_equal(coco.annToMask(annotation).astype(bool), mask)


def test_a_mask_of_the_wrong_size_is_refused_with_the_reason(annotated, tmp_path):
    image = annotated.images[0]
    MaskObject.objects.create(image=image, mask=mask_to_rle(np.ones((10, 10), dtype=bool)))
    with pytest.raises(ValueError, match=r"has size \[10, 10\] but the image is 48x64"):
        export(annotated, tmp_path, format="coco")


def test_filter_by_source_and_same_names_in_two_sources(annotated, tmp_path):
    other = Source.objects.create(project=annotated.project, kind=Source.Kind.UPLOAD, name="b")
    twin = Image.objects.create(
        project=annotated.project, source=other, path="plate-0.png", width=64, height=48
    )
    MaskObject.objects.create(image=twin, mask=mask_to_rle(np.ones((48, 64), dtype=bool)))
    coco = load_coco(export(annotated, tmp_path, scope=Scope("filter", source_id=other.pk))[0])
    assert [i["id"] for i in coco.dataset["images"]] == [twin.pk]
    path, _ = export(annotated, tmp_path, format="voc", records=("objects",))
    with zipfile.ZipFile(path) as archive:
        names = archive.read("ImageSets/Segmentation/default.txt").decode().split()
    # Both plate-0.png images sit at the same path in their sources: each is filed under
    # its source's name.
    assert names == ["uploads_plate-0", "plate-1", "plate-2", "b_plate-0"]


def pool_export(project, tmp_path, format: str) -> tuple:
    target = tmp_path / f"export-{format}"
    counts = export_write(
        project=project,
        scope=Scope("pool"),
        options=ExportOptions(format=format, label_map=True),
        target=target,
    )
    return target, counts


def exported_sizes(format: str, path) -> list[tuple[int, int]]:
    """(width, height) of each image, as the export file gives it to a reader."""
    if format == "coco":
        return [(i["width"], i["height"]) for i in json.loads(path.read_text())["images"]]
    if format == "seed_json":
        entries = json.loads(path.read_text())["images"].values()
        return [(entry["width"], entry["height"]) for entry in entries]
    with zipfile.ZipFile(path) as archive:
        if format == "binary_mask":
            manifest = json.loads(archive.read("manifest.json"))
            return [(entry["width"], entry["height"]) for entry in manifest["images"]]
        maps = [n for n in archive.namelist() if n.startswith("SegmentationClass/")]
        return [PILImage.open(io.BytesIO(archive.read(name))).size for name in maps]


SIZED_FORMATS = ["coco", "seed_json", "binary_mask", "voc"]


@pytest.mark.parametrize("format", SIZED_FORMATS)
def test_an_image_never_opened_exports_at_its_true_size(team, settings, tmp_path, format):
    write_png(settings.ANNOTATOR_UPLOAD_DIR / "unseen.png", width=30, height=20)
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="new")
    image = Image.objects.create(project=team.project, source=source, path="unseen.png")

    path, counts = pool_export(team.project, tmp_path, format)
    assert exported_sizes(format, path) == [(30, 20)]
    assert counts == {"images": 1, "masks": 0}
    image.refresh_from_db()
    assert (image.width, image.height) == (30, 20)  # recorded: the next export reads nothing

    (settings.ANNOTATOR_UPLOAD_DIR / "unseen.png").unlink()
    path, counts = pool_export(team.project, tmp_path, format)
    assert exported_sizes(format, path) == [(30, 20)] and "skipped" not in counts


@pytest.fixture
def web_folder(tmp_path, settings):
    """A real HTTP server on 127.0.0.1 serving a folder; `gets` lists the paths fetched."""
    settings.ANNOTATOR_URL_ALLOW_PRIVATE = True
    folder = tmp_path / "web"
    folder.mkdir()
    gets: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self):
            gets.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}", gets
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_a_remote_image_never_opened_is_fetched_once_for_its_size(team, tmp_path, web_folder):
    folder, base, gets = web_folder
    exif = PILImage.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90 degrees: portrait
    PILImage.new("RGB", (40, 20), "red").save(folder / "phone.jpg", exif=exif.tobytes())
    url = f"{base}/phone.jpg"
    source = Source.objects.create(
        project=team.project, kind=Source.Kind.URL, name="web", location={"urls": [url]}
    )
    Image.objects.create(project=team.project, source=source, path=url)
    for _ in range(2):
        path, _ = pool_export(team.project, tmp_path, "coco")
        assert exported_sizes("coco", path) == [(20, 40)]
    assert gets == ["/phone.jpg"]


@pytest.mark.parametrize("format", SIZED_FORMATS)
def test_an_image_that_cannot_be_read_is_skipped_with_the_reason(team, tmp_path, format):
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="new")
    image = Image.objects.create(project=team.project, source=source, path="gone.png")
    path, counts = pool_export(team.project, tmp_path, format)
    assert exported_sizes(format, path) == []  # never an image of 0 x 0
    ((skipped),) = counts["skipped"]
    assert skipped["image_id"] == image.pk and skipped["path"] == "gone.png"
    image.refresh_from_db()
    assert not image.available and skipped["reason"] == image.unavailable_reason != ""


def test_csv_reads_no_image_for_its_size(team, tmp_path):
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="new")
    image = Image.objects.create(project=team.project, source=source, path="gone.png")
    path, counts = pool_export(team.project, tmp_path, "csv")
    assert counts == {"images": 1, "masks": 0}  # rows are masks: none to size
    assert path.read_text().splitlines()[1:] == []
    image.refresh_from_db()
    assert image.available


def test_voc_classes_painted_alike_keep_apart_for_colour_readers(annotated, tmp_path):
    labels = annotated.labels
    Label.objects.filter(pk__in=[labels["cell"].pk, labels["nucleus"].pk]).update(color="#00ff00")
    Label.objects.filter(pk=labels["object"].pk).update(color="#808080")  # unlabeled's grey
    path, _ = export(annotated, tmp_path, format="voc", records=("objects",))
    with zipfile.ZipFile(path) as archive:
        lines = archive.read("labelmap.txt").decode().splitlines()[1:]
        picture = PILImage.open(io.BytesIO(archive.read("SegmentationClass/plate-0.png")))
        rgb = np.asarray(picture.convert("RGB"))
    # As datumaro's VOC importer reads it: the class of a pixel is the one of its colour.
    class_of = {}
    for line in lines:
        name, color = line.split(":")[:2]
        class_of[tuple(int(c) for c in color.split(","))] = name
    assert len(class_of) == len(lines) == 5
    ring, pair, edge = (annotated.expected("object", o.pk) for o in annotated.objects[:3])
    assert {class_of[tuple(p)] for p in rgb[ring]} == {"cell"}
    assert {class_of[tuple(p)] for p in rgb[pair]} == {"nucleus"}
    assert {class_of[tuple(p)] for p in rgb[edge]} == {"unlabeled"}
    assert {class_of[tuple(p)] for p in rgb[~(ring | pair | edge)]} == {"background"}
    assert class_of[(0, 255, 0)] == "cell"  # the first label painted so keeps its colour
