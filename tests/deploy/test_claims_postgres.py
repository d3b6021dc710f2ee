"""Many annotators press "next unprocessed" at the same moment against the production stack
(daphne on PostgreSQL, where the candidate row is taken with SKIP LOCKED): no image is handed
to two of them."""

from tests.workflow.storm import seed, storm

ANNOTATORS = 24
IMAGES = 150


def test_annotators_asking_at_once_are_never_handed_the_same_image_on_postgresql(stack):
    project_id, tokens = seed(
        stack.env, name="storm-postgres", images=IMAGES, annotators=ANNOTATORS
    )
    result = storm(stack.url, project_id, tokens)
    print(result.summary())
    assert result.errors == [], result.errors[:5]
    assert result.doubles == [], result.summary()
    assert result.total == IMAGES, result.summary()
    assert all(person for person in result.handed), result.summary()
    held = stack.postgres.query(
        "SELECT count(*) FROM projects_imageclaim WHERE project_id = %s", project_id
    )
    assert held == [(0,)]  # everyone completed their last image, which released it
