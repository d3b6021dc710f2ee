import pytest

from projects.quality.views import duration
from tests.quality.conftest import rect

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "role, linked", [("owner", True), ("reviewer", True), ("annotator", False), ("viewer", False)]
)
def test_the_project_page_links_the_dashboard_for_owners_and_reviewers(team, client, role, linked):
    client.force_login(team.user(role))
    page = client.get(f"/projects/{team.project.pk}/").content.decode()
    assert (f'href="/projects/{team.project.pk}/dashboard/"' in page) is linked


def test_a_reviewer_sees_the_table_but_no_csv_link(team, pool, work, client):
    work.draw(pool[1][0], team.annotator, rect(0, 0, 10, 10))
    work.complete(pool[1][0], team.annotator)
    client.force_login(team.reviewer)
    page = client.get(f"/projects/{team.project.pk}/dashboard/").content.decode()
    assert 'data-user="anna"' in page and 'data-field="objects_made">1<' in page
    assert "activity.csv" not in page
    client.force_login(team.owner)
    page = client.get(f"/projects/{team.project.pk}/dashboard/").content.decode()
    assert f"/api/projects/{team.project.pk}/activity.csv" in page


def test_an_annotator_cannot_open_the_dashboard(team, client):
    client.force_login(team.annotator)
    assert client.get(f"/projects/{team.project.pk}/dashboard/").status_code == 403


@pytest.mark.parametrize(
    "seconds, shown",
    [(0, "none"), (42, "under a minute"), (420, "7 min"), (2 * 3600 + 5 * 60 + 9, "2 h 05 min")],
)
def test_time_spent_reads_in_hours_and_minutes(seconds, shown):
    assert duration(seconds) == shown
