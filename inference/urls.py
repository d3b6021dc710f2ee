from django.urls import path

from inference import api, decoder_api

app_name = "inference"

urlpatterns = [
    path("models/", api.ModelListApi.as_view(), name="models"),
    path("projects/<id:project_id>/model/", api.ModelStateApi.as_view(), name="model-state"),
    path("projects/<id:project_id>/model/load/", api.ModelLoadApi.as_view(), name="model-load"),
    path(
        "projects/<id:project_id>/model/load/cancel/",
        api.ModelLoadCancelApi.as_view(),
        name="model-load-cancel",
    ),
    path(
        "projects/<id:project_id>/model/download/",
        api.ModelDownloadApi.as_view(),
        name="model-download",
    ),
    path(
        "projects/<id:project_id>/model/download/cancel/",
        api.ModelDownloadCancelApi.as_view(),
        name="model-download-cancel",
    ),
    path("images/<id:image_id>/predict/", api.PredictApi.as_view(), name="predict"),
    path(
        "projects/<id:project_id>/decoder.onnx",
        decoder_api.DecoderModelApi.as_view(),
        name="decoder-model",
    ),
    path(
        "images/<id:image_id>/features/",
        decoder_api.ImageFeaturesApi.as_view(),
        name="image-features",
    ),
    path("images/<id:image_id>/automask/", api.AutomaskImageApi.as_view(), name="automask-image"),
    path("projects/<id:project_id>/automask/", api.AutomaskPoolApi.as_view(), name="automask"),
    path("automask/<id:job_id>/cancel/", api.AutomaskCancelApi.as_view(), name="automask-cancel"),
    path("automask/<id:job_id>/resume/", api.AutomaskResumeApi.as_view(), name="automask-resume"),
    path("projects/<id:project_id>/embeddings/", api.EmbeddingsApi.as_view(), name="embeddings"),
    path(
        "embeddings/<id:job_id>/resume/",
        api.EmbeddingsResumeApi.as_view(),
        name="embeddings-resume",
    ),
]
