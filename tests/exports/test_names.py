"""Every export names images by one rule: the name a person sees where it is unique in the
export, the path inside the source where names clash, the source's name before it where that
clashes too; never the path an upload is stored under, never a path leaving its folder."""

import csv
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from projects.encoding import mask_to_rle
from projects.exports.archive import archive_write
from projects.exports.formats import ExportOptions
from projects.exports.restore import archive_import
from projects.exports.selectors import Scope
from projects.exports.services import export_write
from projects.models import Image, MaskObject, Project, Source
from projects.selectors import image_source_path
from projects.sources.services import source_folder_create, source_scan_run, upload_files
from tests.sources.conftest import image_bytes


@dataclass
class Named:
    project: Project
    first_a: Image  # a.png, first upload batch
    second_a: Image  # another a.png, second batch
    b: Image  # b.png, no twin
    shots_x: Image  # x/a.png in the folder "shots"
    shots_y: Image  # y/a.png in "shots"
    more_x: Image  # x/a.png in the folder "more"

    def expected(self) -> dict[int, str]:
        return {
            self.first_a.pk: f"{self.first_a.key[:16]}/a.png",
            self.second_a.pk: f"{self.second_a.key[:16]}/a.png",
            self.b.pk: "b.png",
            self.shots_x.pk: "shots/x/a.png",
            self.shots_y.pk: "y/a.png",
            self.more_x.pk: "more/x/a.png",
        }


def _upload(project, name: str, seed: int) -> Image:
    file = SimpleUploadedFile(name, image_bytes(seed=seed), content_type="image/png")
    (outcome,) = upload_files(project=project, files=[file])
    return outcome.image


def _folder(project, root: Path, name: str, files: list[str]) -> dict[str, Image]:
    for seed, relative in enumerate(files):
        (root / name / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / name / relative).write_bytes(image_bytes(seed=seed + 10))
    source, job = source_folder_create(project=project, path=str(root / name))
    source_scan_run(job_id=job.pk)
    return {image.path: image for image in Image.objects.filter(source=source)}


@pytest.fixture
def named(team, tmp_path, settings) -> Named:
    project = team.project
    root = tmp_path / "share"
    settings.ANNOTATOR_FOLDER_ROOTS = [root]
    first_a = _upload(project, "a.png", seed=1)
    second_a = _upload(project, "a.png", seed=2)  # another batch, other bytes, same name
    b = _upload(project, "b.png", seed=3)
    shots = _folder(project, root, "shots", ["x/a.png", "y/a.png"])
    more = _folder(project, root, "more", ["x/a.png"])
    scene = Named(
        project, first_a, second_a, b, shots["x/a.png"], shots["y/a.png"], more["x/a.png"]
    )
    for image in Image.objects.filter(project=project):
        width, height = 40, 30
        MaskObject.objects.create(image=image, mask=mask_to_rle(np.ones((height, width), bool)))
    return scene


def export(project, tmp_path, format: str, scope: Scope | None = None, **options) -> Path:
    target = tmp_path / f"export-{format}"
    export_write(
        project=project,
        scope=scope or Scope("pool"),
        options=ExportOptions(format=format, **options),
        target=target,
    )
    return target


def assert_safe(name: str) -> None:
    path = PurePosixPath(name)
    assert not path.is_absolute() and ".." not in path.parts and "" not in name.split("/")
    assert "\\" not in name


def test_the_pool_shows_what_was_uploaded_and_the_path_in_each_folder(named):
    assert named.first_a.path.startswith(f"{named.project.pk}/")  # stored under its project
    shown = {
        image.pk: image.display_name
        for image in Image.objects.filter(project=named.project).select_related("source")
    }
    assert shown == {
        named.first_a.pk: "a.png",
        named.second_a.pk: "a.png",
        named.b.pk: "b.png",
        named.shots_x.pk: "x/a.png",
        named.shots_y.pk: "y/a.png",
        named.more_x.pk: "x/a.png",
    }
    assert image_source_path(named.first_a) == f"{named.first_a.key[:16]}/a.png"
    assert image_source_path(named.shots_y) == "y/a.png"


def test_coco_names_clashing_images_by_their_path_in_the_source(named, tmp_path):
    coco = json.loads(export(named.project, tmp_path, "coco").read_text())
    names = {entry["id"]: entry["file_name"] for entry in coco["images"]}
    assert names == named.expected()
    for name in names.values():
        assert_safe(name)
        assert not name.startswith(f"{named.project.pk}/")


def test_csv_uses_the_same_names_and_the_path_in_the_source(named, tmp_path):
    rows = list(csv.DictReader(export(named.project, tmp_path, "csv").open(newline="")))
    assert {int(row["image_id"]): row["file_name"] for row in rows} == named.expected()
    by_id = {int(row["image_id"]): row for row in rows}
    assert by_id[named.b.pk]["source_path"] == f"{named.b.key[:16]}/b.png"
    assert by_id[named.more_x.pk]["source_path"] == "x/a.png"
    assert by_id[named.more_x.pk]["source"] == "more"


def test_seed_json_uses_the_same_names(named, tmp_path):
    document = json.loads(export(named.project, tmp_path, "seed_json").read_text())
    entries = {entry["image_id"]: entry for entry in document["images"].values()}
    assert {pk: entry["file_name"] for pk, entry in entries.items()} == named.expected()
    assert entries[named.second_a.pk]["path"] == f"{named.second_a.key[:16]}/a.png"


def test_binary_masks_are_filed_under_the_same_names(named, tmp_path):
    path = export(named.project, tmp_path, "binary_mask", label_map=True)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        members = archive.namelist()
    entries = {entry["image_id"]: entry for entry in manifest["images"]}
    assert {pk: entry["file_name"] for pk, entry in entries.items()} == named.expected()
    assert entries[named.shots_x.pk]["masks"][0]["file"] == "masks/shots_x_a/0001.png"
    assert entries[named.shots_y.pk]["label_map"] == "label_maps/y_a.png"
    assert entries[named.first_a.pk]["masks"][0]["file"] == (
        f"masks/{named.first_a.key[:16]}_a/0001.png"
    )
    for member in members:
        assert_safe(member)


def test_voc_maps_are_named_after_the_same_names(named, tmp_path):
    with zipfile.ZipFile(export(named.project, tmp_path, "voc")) as archive:
        listed = archive.read("ImageSets/Segmentation/default.txt").decode().split()
        members = set(archive.namelist())
    first, second = named.first_a.key[:16], named.second_a.key[:16]
    assert listed == [f"{first}_a", f"{second}_a", "b", "shots_x_a", "y_a", "more_x_a"]
    assert {f"SegmentationClass/{name}.png" for name in listed} <= members


def test_one_image_is_named_by_the_name_a_person_sees(named, tmp_path):
    scope = Scope("image", image_id=named.second_a.pk)
    coco = json.loads(export(named.project, tmp_path, "coco", scope=scope).read_text())
    assert [entry["file_name"] for entry in coco["images"]] == ["a.png"]


def test_a_filter_names_by_what_it_holds(named, tmp_path):
    scope = Scope("filter", source_id=named.shots_x.source_id)
    coco = json.loads(export(named.project, tmp_path, "coco", scope=scope).read_text())
    assert sorted(entry["file_name"] for entry in coco["images"]) == ["x/a.png", "y/a.png"]


def test_two_sources_of_one_name_get_their_ids(team, tmp_path):
    first = Source.objects.create(project=team.project, kind="folder", name="scans")
    second = Source.objects.create(project=team.project, kind="folder", name="scans")
    for source in (first, second):
        Image.objects.create(project=team.project, source=source, path="a.png", width=8, height=8)
    coco = json.loads(export(team.project, tmp_path, "coco").read_text())
    assert [entry["file_name"] for entry in coco["images"]] == [
        f"scans-{first.pk}/a.png",
        f"scans-{second.pk}/a.png",
    ]


def test_names_from_a_remote_source_stay_inside_the_archive(team, tmp_path):
    """A blob or a URL may be named anything: the export's names stay relative paths."""
    blobs = Source.objects.create(
        project=team.project,
        kind="azure_blob",
        name="../blobs",
        location={"account_url": "https://a.blob.core.windows.net", "container": "c"},
    )
    web = Source.objects.create(project=team.project, kind="url", name="web")
    paths = [
        (blobs, "../../etc/passwd.png"),
        (blobs, "/root.png"),
        (blobs, "a\\..\\..\\win.png"),
        (blobs, "./odd//./..png"),
        (web, "https://example.org/pics/../cat.png?size=2#top"),
    ]
    images = [
        Image.objects.create(project=team.project, source=source, path=path, width=8, height=8)
        for source, path in paths
    ]
    for image in images:
        MaskObject.objects.create(image=image, mask=mask_to_rle(np.ones((8, 8), bool)))
    coco = json.loads(export(team.project, tmp_path, "coco").read_text())
    names = [entry["file_name"] for entry in coco["images"]]
    assert names == [
        "_/_/etc/passwd.png",
        "root.png",
        "a/_/_/win.png",
        "odd/..png",
        "example.org/pics/_/cat.png?size=2",
    ]
    for format in ("binary_mask", "voc"):
        with zipfile.ZipFile(export(team.project, tmp_path, format)) as archive:
            for member in archive.namelist():
                assert_safe(member)
                assert not PurePosixPath(member).name.startswith(".")


def test_an_azure_image_is_named_after_the_prefix_folder(team):
    source = Source.objects.create(
        project=team.project,
        kind="azure_blob",
        name="lake",
        location={
            "account_url": "https://a.blob.core.windows.net",
            "container": "c",
            "prefix": "survey/2024/img",
        },
    )
    image = Image.objects.create(project=team.project, source=source, path="survey/2024/img7.png")
    assert image.display_name == "img7.png"
    unprefixed = Source.objects.create(
        project=team.project, kind="azure_blob", name="all", location={"prefix": ""}
    )
    image = Image.objects.create(project=team.project, source=unprefixed, path="x/y.png")
    assert image.display_name == "x/y.png"


def test_a_restored_upload_keeps_its_name_and_its_export_names(named, tmp_path, make_user):
    before = json.loads(export(named.project, tmp_path, "coco").read_text())
    archive = tmp_path / "named.zip"
    archive_write(project=named.project, target=archive)
    copy = archive_import(path=archive, user=make_user("mover"), name="Copy")
    restored = Image.objects.filter(project=copy, source__kind="upload").select_related("source")
    assert {image.path.split("/")[0] for image in restored} == {str(copy.pk)}
    assert sorted(image.display_name for image in restored) == ["a.png", "a.png", "b.png"]
    after = json.loads(export(copy, tmp_path, "coco").read_text())
    assert sorted(e["file_name"] for e in after["images"]) == sorted(
        e["file_name"] for e in before["images"]
    )


def test_per_image_files_of_one_stem_get_the_image_id(team, tmp_path):
    folder = Source.objects.create(project=team.project, kind="folder", name="mixed")
    images = [
        Image.objects.create(project=team.project, source=folder, path=path, width=8, height=8)
        for path in ("a.png", "a.jpg", "x/a.png", "x_a.png")
    ]
    for image in images:
        MaskObject.objects.create(image=image, mask=mask_to_rle(np.ones((8, 8), bool)))
    with zipfile.ZipFile(export(team.project, tmp_path, "voc")) as archive:
        listed = archive.read("ImageSets/Segmentation/default.txt").decode().split()
    assert listed == ["a", f"a_{images[1].pk}", "x_a", f"x_a_{images[3].pk}"]
