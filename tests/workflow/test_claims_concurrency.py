"""Many annotators press "next unprocessed" at the same moment against the embedded server
(`manage.py serve`, SQLite): no image is handed to two of them. The same storm runs against
PostgreSQL in tests/deploy/test_claims_postgres.py."""

import pytest

from tests.served import served, served_env
from tests.workflow.storm import seed, storm

ANNOTATORS = 16
IMAGES = 120


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    var = tmp_path_factory.mktemp("claims-var")
    env = served_env(
        var, ANNOTATOR_ADMIN_PASSWORD="claims-test-password", ANNOTATOR_DEMO_PROJECT="false"
    )
    with served(env, var) as base:
        yield base, env, var / "serve.log"


def test_annotators_asking_at_once_are_never_handed_the_same_image(embedded):
    base, env, log = embedded
    project_id, tokens = seed(env, name="storm-sqlite", images=IMAGES, annotators=ANNOTATORS)
    result = storm(base, project_id, tokens)
    print(result.summary())
    assert result.errors == [], result.errors[:5]
    assert result.doubles == [], result.summary()
    # Every image of the pool was handed out once, and everybody got work.
    assert result.total == IMAGES, result.summary()
    assert all(person for person in result.handed), result.summary()
