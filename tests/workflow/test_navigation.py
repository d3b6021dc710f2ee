import pytest
from django.utils import timezone

from projects.models import Image, ImageStatus, Source

pytestmark = pytest.mark.django_db


@pytest.fixture
def mixed_pool(team):
    """Ten images: 0 completed, 1 in progress, 2 unavailable, 3 removed, 4 unprocessed,
    5 in a removed source, 6 in progress, 7-9 unprocessed."""
    source = Source.objects.create(project=team.project, kind="upload", name="a")
    gone = Source.objects.create(
        project=team.project, kind="upload", name="gone", removed_at=timezone.now()
    )
    states = {
        0: {"completed": True, "status": ImageStatus.COMPLETED},
        1: {"status": ImageStatus.IN_PROGRESS, "has_manual_prediction": True},
        2: {"available": False, "unavailable_reason": "404"},
        3: {"removed_at": timezone.now()},
        6: {"status": ImageStatus.IN_PROGRESS, "has_automask": True},
    }
    images = []
    for i in range(10):
        images.append(
            Image.objects.create(
                project=team.project,
                source=gone if i == 5 else source,
                path=f"{i}.png",
                **states.get(i, {}),
            )
        )
    return images


def step(client, team, current, direction):
    query = f"?direction={direction}" + (f"&from={current.pk}" if current else "")
    return client.get(f"/api/projects/{team.project.pk}/navigate/{query}").json()


def index_of(images, answer):
    return None if answer["image"] is None else [i.pk for i in images].index(answer["image"]["id"])


def test_next_and_previous_skip_unavailable_and_removed_images(mixed_pool, team, api_client):
    client = api_client(team.viewer)
    order, current = [], None
    while True:
        answer = step(client, team, current, "next")
        if answer["image"] is None:
            break
        current = mixed_pool[index_of(mixed_pool, answer)]
        order.append(index_of(mixed_pool, answer))
    assert order == [0, 1, 4, 6, 7, 8, 9]
    back = step(client, team, mixed_pool[4], "previous")
    assert index_of(mixed_pool, back) == 1
    assert (back["position"], back["total"]) == (2, 7)


def test_next_unprocessed_prefers_white_then_yellow_and_wraps(mixed_pool, team, api_client):
    client = api_client(team.viewer)
    assert index_of(mixed_pool, step(client, team, mixed_pool[4], "next_unprocessed")) == 7
    assert index_of(mixed_pool, step(client, team, mixed_pool[9], "next_unprocessed")) == 4
    Image.objects.filter(pk__in=[mixed_pool[i].pk for i in (4, 7, 8, 9)]).update(
        status=ImageStatus.COMPLETED, completed=True
    )
    assert index_of(mixed_pool, step(client, team, mixed_pool[6], "next_unprocessed")) == 1
    Image.objects.filter(pk__in=[mixed_pool[i].pk for i in (1, 6)]).update(
        status=ImageStatus.COMPLETED, completed=True
    )
    assert step(client, team, mixed_pool[6], "next_unprocessed")["image"] is None


def test_complete_and_next_is_one_request(mixed_pool, team, api_client):
    client = api_client(team.annotator)
    answer = client.post(f"/api/images/{mixed_pool[4].pk}/complete-and-next/").json()
    assert answer["completed"]["status"] == "completed"
    assert answer["next"]["id"] == mixed_pool[7].pk
    assert Image.objects.get(pk=mixed_pool[4].pk).completed


def test_history_lists_my_edited_images_newest_first(mixed_pool, team, api_client):
    client = api_client(team.annotator)
    for i in (7, 4, 8, 4):
        client.post(
            f"/api/images/{mixed_pool[i].pk}/complete/", {"completed": False}, format="json"
        )
    mine = [
        entry["image"]["id"]
        for entry in client.get(f"/api/projects/{team.project.pk}/history/").json()
    ]
    assert mine == [mixed_pool[4].pk, mixed_pool[8].pk, mixed_pool[7].pk]
    theirs = api_client(team.owner).get(f"/api/projects/{team.project.pk}/history/").json()
    assert theirs == []


def test_overview_filters_by_status_flags_source_and_availability(mixed_pool, team, api_client):
    client = api_client(team.viewer)
    url = f"/api/projects/{team.project.pk}/overview/"

    def ids(query):
        return [
            index_of(mixed_pool, {"image": r}) for r in client.get(url + query).json()["results"]
        ]

    assert ids("") == [0, 1, 2, 4, 6, 7, 8, 9]
    assert ids("?status=in_progress") == [1, 6]
    assert ids("?has_automask=true") == [6]
    assert ids("?available=false") == [2]
    assert ids("?status=unprocessed&limit=2") == [2, 4]
    assert client.get(url + "?status=purple").status_code == 400
    assert client.get(url + "?has_automask=perhaps").status_code == 400


def test_overview_pages_carry_a_total(mixed_pool, team, api_client):
    page = (
        api_client(team.viewer)
        .get(f"/api/projects/{team.project.pk}/overview/?limit=3&offset=3")
        .json()
    )
    assert page["count"] == 8
    assert len(page["results"]) == 3
