import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

from crm.logging import bind_task, unbind_task

os.environ["DJANGO_SETTINGS_MODULE"] = os.environ.get("DJANGO_SETTINGS_MODULE") or "crm.settings"

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _bind_task_to_logs(task_id=None, **kwargs):
    bind_task(task_id=task_id)


@task_postrun.connect
def _unbind_task_from_logs(task_id=None, **kwargs):
    unbind_task(task_id=task_id)
