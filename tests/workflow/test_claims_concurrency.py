"""Many annotators press "next unprocessed" at the same moment against the embedded server
(`manage.py serve`, SQLite): no image is handed to two of them. The same storm runs against
PostgreSQL in tests/deploy/test_claims_postgres.py."""

import pytest

from tests.served import served, served_env
from tests.workflow.storm import seed, storm

ANNOTATORS = 16
IMAGES = 120
# Each annotator stops after this many, so work is left in the pool whenever anyone asks: on
# SQLite's single writer a slow starter could otherwise find the pool already done by the rest.
ROUNDS = 6


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
    result = storm(base, project_id, tokens, rounds=ROUNDS)
    print(result.summary())
    assert result.errors == [], result.errors[:5]
    assert result.doubles == [], result.summary()
    # Everybody got their full share, one image at a time, while the pool still had work.
    assert [len(person) for person in result.handed] == [ROUNDS] * ANNOTATORS, result.summary()
