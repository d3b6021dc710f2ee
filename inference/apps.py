from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Images added by any path (uploads, URLs, source scans) reach the project's
        # automatic embedding preparation; the sources package cannot call up to inference.
        from django.db.models.signals import post_save

        from inference.services import embeddings
        from projects.models import Image, Job

        post_save.connect(embeddings.on_image_saved, sender=Image, dispatch_uid="emb-image")
        post_save.connect(embeddings.on_job_saved, sender=Job, dispatch_uid="emb-scan")
