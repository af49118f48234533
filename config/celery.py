"""The Celery app. Workers: `celery -A config worker -l info` (see README)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("reclaim")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
