import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")

app = Celery("annotator")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Task modules in sub-packages of an app.
app.autodiscover_tasks(["projects.exports", "projects.imports", "projects.sources"])
