"""Claims (leases) and owner assignments: who is handed which image by "next unprocessed"."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.utils import timezone

from projects import services as project_services
from projects.models import Image, ImageAssignment, ImageClaim, Role, Source
from projects.presence import presence_enter, presence_leave
from tests.conftest import write_png
from tests.workflow.conftest import rect


@pytest.fixture
def many(team, settings):
    """Six real images in one upload source of the team's project."""
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="up")
    images = []
    for i in range(6):
        write_png(settings.ANNOTATOR_UPLOAD_DIR / f"c{i}.png", seed=i)
        images.append(
            Image.objects.create(
                project=team.project, source=source, path=f"c{i}.png", width=64, height=48
            )
        )
    return images


@pytest.fixture(autouse=True)
def presence_forgotten(many):
    """Presence lives in the cache, which outlives the test's database: forget it after."""
    yield
    cache.delete_many([f"presence:image:{image.pk}" for image in many])


@pytest.fixture
def bea(team, make_user):
    """A second annotator."""
    user = make_user("bea")
    project_services.member_set(project=team.project, user=user, role=Role.ANNOTATOR)
    return user


def next_unprocessed(client, project, current=None) -> dict | None:
    query = "direction=next_unprocessed" + (f"&from={current}" if current else "")
    response = client.get(f"/api/projects/{project.pk}/navigate/?{query}")
    assert response.status_code == 200, response.content
    return response.json()["image"]


def holder(image) -> str | None:
    claim = ImageClaim.objects.filter(image=image).select_related("user").first()
    return claim.user.username if claim else None


def test_next_unprocessed_claims_and_another_annotators_claim_excludes(team, many, bea, api_client):
    anna, other = api_client(team.annotator), api_client(bea)
    first = next_unprocessed(anna, team.project)
    assert first["id"] == many[0].pk and first["held_by"] is None
    assert holder(many[0]) == "anna"
    second = next_unprocessed(other, team.project)
    assert second["id"] == many[1].pk
    assert holder(many[1]) == "bea"
    # Asking again keeps each one's own image out of the other's hands.
    assert next_unprocessed(other, team.project, current=many[1].pk)["id"] == many[2].pk
    assert holder(many[1]) is None  # bea left image 1 for image 2
    assert ImageClaim.objects.filter(user=bea).count() == 1


def test_an_expired_claim_is_free_again(team, many, bea, api_client):
    anna, other = api_client(team.annotator), api_client(bea)
    next_unprocessed(anna, team.project)
    ImageClaim.objects.filter(image=many[0]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert next_unprocessed(other, team.project)["id"] == many[0].pk
    assert holder(many[0]) == "bea"


def test_the_lease_lasts_the_configured_minutes(team, many, api_client, settings):
    settings.ANNOTATOR_CLAIM_MINUTES = 3
    next_unprocessed(api_client(team.annotator), team.project)
    claim = ImageClaim.objects.get(image=many[0])
    assert timedelta(minutes=2, seconds=55) < claim.expires_at - timezone.now()
    assert claim.expires_at - timezone.now() <= timedelta(minutes=3)


def test_opening_claims_a_free_image_and_shows_who_holds_a_taken_one(team, many, bea, api_client):
    anna, other = api_client(team.annotator), api_client(bea)
    opened = anna.post(f"/api/images/{many[3].pk}/open/").json()
    assert opened["held_by"] is None and opened["image"]["held_by"] is None
    assert holder(many[3]) == "anna"
    seen = other.post(f"/api/images/{many[3].pk}/open/").json()
    assert seen["held_by"] == "anna" and seen["image"]["held_by"] == "anna"
    assert holder(many[3]) == "anna"  # looking does not take it
    # Plain next and previous still go everywhere, and say who holds the image.
    step = other.get(f"/api/projects/{team.project.pk}/navigate/?from={many[2].pk}").json()
    assert step["image"]["id"] == many[3].pk and step["image"]["held_by"] == "anna"


def test_opening_another_image_releases_the_first(team, many, api_client):
    anna = api_client(team.annotator)
    anna.post(f"/api/images/{many[0].pk}/open/")
    anna.post(f"/api/images/{many[1].pk}/open/")
    assert holder(many[0]) is None and holder(many[1]) == "anna"


def test_a_viewer_looks_without_holding(team, many, api_client):
    viewer = api_client(team.viewer)
    assert next_unprocessed(viewer, team.project)["id"] == many[0].pk
    viewer.post(f"/api/images/{many[0].pk}/open/")
    assert not ImageClaim.objects.exists()


def test_leaving_the_image_releases_it(team, many, bea, api_client):
    anna, other = api_client(team.annotator), api_client(bea)
    next_unprocessed(anna, team.project)
    user = team.annotator
    for channel in ("tab-1", "tab-2"):
        presence_enter(image_id=many[0].pk, channel=channel, user_id=user.pk, username="anna")
    presence_leave(image_id=many[0].pk, channel="tab-1")
    assert holder(many[0]) == "anna"  # another tab of hers still shows it
    presence_leave(image_id=many[0].pk, channel="tab-2")
    assert holder(many[0]) is None
    assert next_unprocessed(other, team.project)["id"] == many[0].pk


def test_the_heartbeat_and_edits_renew_the_lease(team, many, api_client):
    anna = api_client(team.annotator)
    opened = anna.post(f"/api/images/{many[0].pk}/open/").json()
    soon = timezone.now() + timedelta(seconds=5)
    ImageClaim.objects.filter(image=many[0]).update(expires_at=soon)
    presence_enter(image_id=many[0].pk, channel="c", user_id=team.annotator.pk, username="anna")
    assert ImageClaim.objects.get(image=many[0]).expires_at > soon + timedelta(minutes=5)
    ImageClaim.objects.filter(image=many[0]).update(expires_at=soon)
    from projects.encoding import mask_to_rle

    created = anna.post(
        f"/api/images/{many[0].pk}/objects/",
        {"version": opened["image"]["version"], "mask": mask_to_rle(rect(0, 0, 4, 4))},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert ImageClaim.objects.get(image=many[0]).expires_at > soon + timedelta(minutes=5)


def test_complete_and_next_releases_the_image_and_claims_the_next(team, many, bea, api_client):
    anna, other = api_client(team.annotator), api_client(bea)
    next_unprocessed(anna, team.project)  # image 0
    next_unprocessed(other, team.project)  # image 1
    done = anna.post(f"/api/images/{many[0].pk}/complete-and-next/").json()
    assert done["completed"]["status"] == "completed"
    assert done["next"]["id"] == many[2].pk  # not bea's image 1
    assert holder(many[0]) is None and holder(many[2]) == "anna"
    completed = anna.post(f"/api/images/{many[2].pk}/complete/", {"completed": True})
    assert completed.status_code == 200
    assert holder(many[2]) is None


def test_nothing_left_for_me_when_everything_free_is_held(team, many, bea, api_client):
    Image.objects.filter(pk__in=[i.pk for i in many[1:]]).update(completed=True, status="completed")
    anna, other = api_client(team.annotator), api_client(bea)
    assert next_unprocessed(anna, team.project)["id"] == many[0].pk
    assert next_unprocessed(other, team.project) is None


# ------------------------------------------------------------------ assignments


def assign(client, project, **body):
    return client.post(f"/api/projects/{project.pk}/assignments/", body, format="json")


def test_an_annotators_queue_is_their_assigned_images_first(team, many, bea, api_client):
    owner = api_client(team.owner)
    Image.objects.filter(pk=many[4].pk).update(status="in_progress", has_manual_edit=True)
    response = assign(owner, team.project, image_ids=[many[4].pk, many[5].pk], user="bea")
    assert response.status_code == 200, response.content
    assert response.json() == {"assigned": {"bea": 2}}
    other = api_client(bea)
    # Assigned white first, then assigned yellow, then the unassigned pool.
    assert next_unprocessed(other, team.project)["id"] == many[5].pk
    assert next_unprocessed(other, team.project, current=many[5].pk)["id"] == many[4].pk
    Image.objects.filter(pk__in=[many[4].pk, many[5].pk]).update(status="completed")
    assert next_unprocessed(other, team.project, current=many[4].pk)["id"] == many[0].pk


def test_images_assigned_to_someone_else_are_never_served_to_an_annotator(
    team, many, bea, api_client
):
    owner, anna = api_client(team.owner), api_client(team.annotator)
    ids = [i.pk for i in many[:5]]
    assert assign(owner, team.project, image_ids=ids, user="bea").status_code == 200
    assert next_unprocessed(anna, team.project)["id"] == many[5].pk
    Image.objects.filter(pk=many[5].pk).update(status="completed")
    assert next_unprocessed(anna, team.project, current=many[5].pk) is None
    # The owner may still be handed them, after their own and the unassigned ones.
    assert next_unprocessed(owner, team.project)["id"] == many[0].pk


def test_assign_by_filter_and_split_evenly_in_pool_order(team, many, bea, api_client):
    owner = api_client(team.owner)
    Image.objects.filter(pk=many[0].pk).update(has_automask=True, status="in_progress")
    by_filter = assign(owner, team.project, filter={"has_automask": True}, user="anna")
    assert by_filter.json() == {"assigned": {"anna": 1}}
    assert ImageAssignment.objects.get(image=many[0]).user == team.annotator
    split = assign(owner, team.project, split=["anna", "bea", "olive"], filter={})
    assert split.status_code == 200, split.content
    assert split.json() == {"assigned": {"anna": 2, "bea": 2, "olive": 2}}
    owners = [ImageAssignment.objects.get(image=i).user.username for i in many]
    assert owners == ["anna", "anna", "bea", "bea", "olive", "olive"]
    white = assign(owner, team.project, split=["bea", "anna"], filter={"status": "unprocessed"})
    assert white.json() == {"assigned": {"bea": 3, "anna": 2}}
    assert ImageAssignment.objects.get(image=many[0]).user.username == "anna"  # yellow: kept


def test_unassign_by_images_or_by_person(team, many, bea, api_client):
    owner = api_client(team.owner)
    assign(owner, team.project, split=["anna", "bea"])
    url = f"/api/projects/{team.project.pk}/assignments/"
    one = owner.delete(url, {"image_ids": [many[0].pk]}, format="json")
    assert one.json() == {"unassigned": 1, "taken_from": {"anna": 1}}
    everyone_of_bea = owner.delete(url, {"user": "bea"}, format="json")
    assert everyone_of_bea.json() == {"unassigned": 3, "taken_from": {"bea": 3}}
    assert list(ImageAssignment.objects.values_list("user__username", flat=True)) == ["anna"] * 2
    assert owner.delete(url, {}, format="json").status_code == 400
    assert owner.delete(url, {"user": "nobody"}, format="json").status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"image_ids": [1], "user": "victor"},  # a viewer
        {"image_ids": [1], "user": "oscar"},  # not a member
        {"image_ids": [1], "user": "nobody"},
        {"split": ["anna", "oscar"]},
        {"user": "anna"},
        {"image_ids": [1], "filter": {}, "user": "anna"},
        {"split": ["anna", "anna"]},
        {"split": []},
        {"filter": {"status": "purple"}, "user": "anna"},
        {"image_ids": "all", "user": "anna"},
    ],
)
def test_bad_assignments_are_refused_with_400(team, many, api_client, body):
    if body.get("image_ids") == [1]:
        body = {**body, "image_ids": [many[0].pk]}
    response = assign(api_client(team.owner), team.project, **body)
    assert response.status_code == 400, response.content
    assert "error" in response.json()
    assert not ImageAssignment.objects.exists()


def test_images_of_another_project_cannot_be_assigned(team, many, api_client):
    source = Source.objects.create(project=team.other_project, kind="upload", name="x")
    foreign = Image.objects.create(project=team.other_project, source=source, path="f.png")
    response = assign(
        api_client(team.owner), team.project, image_ids=[many[0].pk, foreign.pk], user="anna"
    )
    assert response.status_code == 400
    assert str(foreign.pk) in response.json()["error"]["message"] + str(
        response.json()["error"]["fields"]
    )
    assert not ImageAssignment.objects.exists()


def test_only_an_owner_assigns(team, many, api_client):
    body = {"image_ids": [many[0].pk], "user": "anna"}
    assert assign(api_client(team.annotator), team.project, **body).status_code == 403
    assert assign(api_client(team.viewer), team.project, **body).status_code == 403
    assert assign(api_client(team.outsider), team.project, **body).status_code == 404
    assert not ImageAssignment.objects.exists()


def test_the_project_and_the_assignee_hear_of_an_assignment(
    team, many, api_client, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    project_channel = async_to_sync(layer.new_channel)()
    person_channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"project.{team.project.pk}", project_channel)
    async_to_sync(layer.group_add)(f"user.{team.annotator.pk}", person_channel)
    with django_capture_on_commit_callbacks(execute=True):
        assign(api_client(team.owner), team.project, image_ids=[many[0].pk], user="anna")
    expected = {
        "type": "assignment.changed",
        "data": {
            "project": team.project.pk,
            "user": "anna",
            "action": "assigned",
            "images": 1,
            "by": "olive",
        },
    }
    assert async_to_sync(layer.receive)(project_channel)["event"] == expected
    assert async_to_sync(layer.receive)(person_channel)["event"] == expected


def test_the_annotate_button_hands_two_annotators_different_images(team, many, bea, client):
    url = f"/projects/{team.project.pk}/annotate/"
    client.force_login(team.annotator)
    first = client.get(url)
    client.force_login(bea)
    second = client.get(url)
    assert first.status_code == second.status_code == 302
    assert first["Location"] != second["Location"]
    assert holder(many[0]) == "anna" and holder(many[1]) == "bea"
