"""Managing the pool: listing, editing, removing and restoring sources and single images."""

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from projects import selectors as project_selectors
from projects.encoding import mask_to_rle
from projects.models import Credential, Image, Job, MaskObject, Source
from tests.sources.conftest import image_bytes


def _annotate(image: Image) -> None:
    mask = np.zeros((30, 40), dtype=bool)
    mask[5:10, 5:10] = True
    MaskObject.objects.create(image=image, mask=mask_to_rle(mask))
    image.refresh_status()
    image.save()


def test_sources_are_listed_with_their_image_counts(team, pool, api_client):
    source, _ = pool
    Source.objects.create(project=team.project, kind=Source.Kind.URL, name="web")
    response = api_client(team.viewer).get(
        reverse("api:api-sources", kwargs={"project_id": team.project.pk})
    )
    assert response.status_code == 200
    assert [(s["name"], s["image_count"]) for s in response.json()] == [("uploads", 3), ("web", 0)]


def test_removing_a_source_says_what_will_happen_and_keeps_every_record(team, pool, api_client):
    source, images = pool
    _annotate(images[0])
    client = api_client(team.owner)
    preview = client.get(reverse("api:api-source-removal", kwargs={"source_id": source.pk}))
    assert preview.status_code == 200
    assert preview.json()["images"] == 3 and preview.json()["images_with_annotations"] == 1
    assert "Nothing is deleted" in preview.json()["message"]

    removed = client.delete(reverse("api:api-source", kwargs={"source_id": source.pk}))
    assert removed.status_code == 200 and removed.json()["images_with_annotations"] == 1
    assert not project_selectors.pool_images(team.project).exists()
    assert MaskObject.objects.filter(image=images[0]).count() == 1
    assert Image.objects.filter(source=source).count() == 3
    listing = client.get(reverse("api:api-sources", kwargs={"project_id": team.project.pk}))
    assert listing.json() == []
    with_removed = client.get(
        reverse("api:api-sources", kwargs={"project_id": team.project.pk}), {"removed": "true"}
    )
    assert with_removed.json()[0]["removed_at"]

    restored = client.post(reverse("api:api-source-restore", kwargs={"source_id": source.pk}))
    assert restored.status_code == 200 and restored.json()["removed_at"] is None
    assert project_selectors.pool_images(team.project).count() == 3


def test_a_single_image_is_removed_and_restored(team, pool, api_client):
    _, images = pool
    client = api_client(team.annotator)
    response = client.post(reverse("api:api-image-remove", kwargs={"image_id": images[1].pk}))
    assert response.status_code == 200 and response.json()["removed_at"]
    assert images[1].pk not in project_selectors.pool_images(team.project).values_list(
        "pk", flat=True
    )
    response = client.post(reverse("api:api-image-restore", kwargs={"image_id": images[1].pk}))
    assert response.json()["removed_at"] is None
    assert project_selectors.pool_images(team.project).count() == 3


def test_editing_a_folder_source_renames_it_and_rescans_with_the_new_filter(
    team, api_client, folder_root, eager_tasks
):
    client = api_client(team.owner)
    created = client.post(
        reverse("api:api-source-create-folder", kwargs={"project_id": team.project.pk}),
        {"path": str(folder_root), "recursive": False},
        format="json",
    ).json()
    source_id = created["source"]["id"]
    assert created["source"]["image_count"] == 1
    response = client.patch(
        reverse("api:api-source", kwargs={"source_id": source_id}),
        {"name": "Microscope share", "recursive": True},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["source"]["name"] == "Microscope share"
    assert Job.objects.get(pk=body["job"]["id"]).status == Job.Status.DONE
    assert body["source"]["image_count"] == 3


def test_editing_only_the_name_starts_no_scan(team, pool, api_client):
    source, _ = pool
    response = api_client(team.owner).patch(
        reverse("api:api-source", kwargs={"source_id": source.pk}), {"name": "Mine"}, format="json"
    )
    assert response.json()["job"] is None and response.json()["source"]["name"] == "Mine"


def test_an_empty_upload_source_can_be_added_and_filled(team, api_client):
    client = api_client(team.annotator)
    created = client.post(
        reverse("api:api-source-create-upload", kwargs={"project_id": team.project.pk}),
        {"name": "Batch 7"},
        format="json",
    )
    assert created.status_code == 201
    source_id = created.json()["source"]["id"]
    upload = client.post(
        reverse("api:api-uploads", kwargs={"project_id": team.project.pk}),
        {"files": [SimpleUploadedFile("x.png", image_bytes())], "source": source_id},
        format="multipart",
    )
    assert upload.status_code == 201, upload.content
    assert Image.objects.get(pk=upload.json()[0]["image"]["id"]).source_id == source_id


def test_a_project_with_a_credential_source_can_still_be_deleted(team, api_client):
    credential = Credential.objects.create(project=team.project, name="k", kind="sas_token")
    Source.objects.create(
        project=team.project, kind=Source.Kind.AZURE_BLOB, name="az", credential=credential
    )
    response = api_client(team.owner).delete(
        reverse("api:api-project", kwargs={"project_id": team.project.pk})
    )
    assert response.status_code == 204
    assert not Credential.objects.exists()
