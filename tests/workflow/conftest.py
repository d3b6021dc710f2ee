import numpy as np
import pytest

from projects.encoding import mask_to_rle


def rect(x0, y0, x1, y1, *, width=64, height=48) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


def uncompressed(mask: np.ndarray) -> dict:
    """Column-major run lengths starting with zeros: what a browser can build cheaply."""
    flat = mask.T.reshape(-1).astype(np.uint8)
    counts, current, run = [], 0, 0
    for value in flat:
        if value == current:
            run += 1
        else:
            counts.append(run)
            current, run = value, 1
    counts.append(run)
    return {"size": list(mask.shape), "counts": counts}


@pytest.fixture
def editor(pool, team, api_client):
    """The annotator with the first image of the pool open."""
    image = pool[1][0]
    client = api_client(team.annotator)
    opened = client.post(f"/api/images/{image.pk}/open/").json()

    class Editor:
        def __init__(self):
            self.client, self.image, self.version = client, image, opened["image"]["version"]

        def create(self, mask, **extra):
            response = self.client.post(
                f"/api/images/{image.pk}/objects/",
                {"version": self.version, "mask": mask_to_rle(mask), **extra},
                format="json",
            )
            self.track(response)
            return response

        def patch(self, object_id, **body):
            response = self.client.patch(
                f"/api/objects/{object_id}/", {"version": self.version, **body}, format="json"
            )
            self.track(response)
            return response

        def post(self, path, **body):
            response = self.client.post(path, {"version": self.version, **body}, format="json")
            self.track(response)
            return response

        def track(self, response):
            if response.status_code < 300 and "image" in response.json():
                self.version = response.json()["image"]["version"]

    return Editor()
