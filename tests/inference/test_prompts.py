"""One prompt schema: the REST route and the WebSocket read a prompt through the same check,
the route's documented fields are the dataclass's, and the record and exports keep them."""

import dataclasses

import pytest
from channels.testing import WebsocketCommunicator

from inference.prompts import RECORD_COLUMNS, RECORD_INPUTS, PromptInput
from projects.exports.archive import TABLE
from projects.models import Prediction
from projects.workflow.serializers import PredictionRecordOutput
from tests.inference.test_consumers import _connect, _predict

BAD = {
    "point_coords": [[10, 10]],
    "point_labels": [1],
    "mask_input_prediction": 2**63,
    "mask_input_index": -1,
    "multimask_output": "yes",
}


@pytest.mark.django_db(transaction=True)
async def test_rest_and_websocket_refuse_a_bad_prompt_alike(drawn_pool, team, async_client):
    images, _ = drawn_pool
    await async_client.aforce_login(team.annotator)
    response = await async_client.post(
        f"/api/images/{images[0].pk}/predict/", BAD, content_type="application/json"
    )
    communicator: WebsocketCommunicator = await _connect(team.annotator, team.project.pk)
    await communicator.send_json_to(_predict("bad", images[0].pk, **BAD))
    reply = await communicator.receive_json_from(timeout=10)
    await communicator.disconnect()
    rest = response.json()["error"]
    assert response.status_code == 400 and reply["type"] == "error"
    assert set(rest["fields"]) == {"mask_input_prediction", "mask_input_index", "multimask_output"}
    assert reply["data"]["code"] == rest["code"] == "invalid"
    assert reply["data"]["fields"] == rest["fields"]
    assert not await Prediction.objects.aexists()


def test_the_route_documents_the_dataclass_fields(api_client, team):
    schema = api_client(team.viewer).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    body = schema["paths"]["/api/images/{image_id}/predict/"]["post"]["requestBody"]
    assert list(body["content"]) == ["application/json"]
    documented = schema["components"]["schemas"]["PredictInput"]["properties"]
    specs = dataclasses.fields(PromptInput)
    assert list(documented) == [spec.name for spec in specs]
    for spec in specs:
        if spec.default is not None:
            assert documented[spec.name]["default"] == spec.default, spec.name


def test_the_record_and_exports_keep_the_recorded_fields():
    columns = {field.name for field in Prediction._meta.get_fields()}
    assert set(RECORD_COLUMNS) <= columns
    files = set(RECORD_INPUTS) - set(RECORD_COLUMNS)
    assert {f"{name}_file" for name in files} <= columns
    assert set(RECORD_COLUMNS) <= set(TABLE["predictions"].fields)
    assert set(RECORD_COLUMNS) <= set(PredictionRecordOutput.Meta.fields)
