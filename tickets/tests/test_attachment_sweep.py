"""Attachment files that no row names — left by a reply or an e-mail whose transaction rolled
back, or by a worker stopped between writing a file and its row — are deleted by a daily task
once they are a day old. Files a row names, and files too young to be sure of, are kept."""

import os
import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django_celery_beat.models import PeriodicTask

from crm import roles
from crm.testing import add_to_team, make_team, make_user
from tickets import services
from tickets.attachments import sweep_orphan_files
from tickets.models import Attachment
from tickets.tasks import sweep_attachment_files
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db
TWO_DAYS = 2 * 24 * 3600


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.TICKET_ATTACHMENT_MAX_BYTES = 1024
    return tmp_path


@pytest.fixture
def ticket_and_agent():
    team = make_team()
    agent = make_user(role=roles.SUPPORT_AGENT)
    add_to_team(agent, team)
    return TicketFactory(owner=agent, team=team), agent


def _age(media, name: str, seconds: int = TWO_DAYS) -> None:
    then = time.time() - seconds
    os.utime(media / name, (then, then))


def _stored(name: str, content: bytes = b"data") -> str:
    return default_storage.save(name, ContentFile(content))


def test_a_failed_replys_file_goes_once_a_day_old_and_the_files_of_rows_stay(media, ticket_and_agent):
    ticket, agent = ticket_and_agent
    kept = services.ticket_reply(ticket=ticket, actor=agent, body="日志见附件", public=False, files=[("a.log", b"ok")])
    # The second file is over the limit: the whole reply is refused, after the first was written.
    with pytest.raises(ValidationError):
        services.ticket_reply(
            ticket=ticket,
            actor=agent,
            body="再附一份",
            public=False,
            files=[("b.log", b"left"), ("c.log", b"x" * 2048)],
        )
    (kept_file,) = Attachment.objects.filter(message=kept)
    files = {str(path.relative_to(media)) for path in (media / "tickets").rglob("*") if path.is_file()}
    (orphan,) = files - {kept_file.file.name}
    fresh = _stored("tickets/2026/01/" + "f" * 32)

    assert sweep_orphan_files() == {"examined": 3, "deleted": 0}  # nothing is a day old yet

    for name in (orphan, kept_file.file.name):
        _age(media, name)
    _age(media, fresh, seconds=3600)  # an hour old: its transaction may still be under way
    assert sweep_orphan_files() == {"examined": 3, "deleted": 1}
    assert not (media / orphan).exists()
    assert (media / kept_file.file.name).exists() and (media / fresh).exists()
    with kept_file.file.open("rb") as handle:
        assert handle.read() == b"ok"


def test_the_folder_is_checked_in_batches_of_one_query_and_other_folders_are_left_alone(
    media, ticket_and_agent, django_assert_num_queries
):
    ticket, agent = ticket_and_agent
    message = services.ticket_reply(ticket=ticket, actor=agent, body="附件", public=False, files=[("a.log", b"ok")])
    named = Attachment.objects.get(message=message).file.name
    orphans = [_stored(f"tickets/2025/{month:02d}/{month:032x}") for month in range(1, 5)]
    elsewhere = _stored("imports/2025/01/report.csv")
    for name in [named, *orphans, elsewhere]:
        _age(media, name)

    with django_assert_num_queries(3):  # five old files, two a batch
        assert sweep_orphan_files(batch_size=2) == {"examined": 5, "deleted": 4}

    assert not any((media / name).exists() for name in orphans)
    assert (media / named).exists() and (media / elsewhere).exists()


def test_links_are_not_followed(media, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "precious.txt"
    outside.write_bytes(b"keep me")
    (media / "tickets" / "2025").mkdir(parents=True)
    os.symlink(outside.parent, media / "tickets" / "2025" / "linked")
    os.symlink(outside, media / "tickets" / "2025" / "file-link")

    assert sweep_orphan_files(age=timedelta(0)) == {"examined": 0, "deleted": 0}
    assert outside.read_bytes() == b"keep me"


def test_the_daily_task_runs_the_sweep_and_is_scheduled(media):
    orphan = _stored("tickets/2025/01/" + "a" * 32)
    _age(media, orphan)
    assert sweep_attachment_files.delay().get() == {"examined": 1, "deleted": 1}
    assert sweep_attachment_files.delay().get() == {"examined": 0, "deleted": 0}  # safe to run twice
    schedule = PeriodicTask.objects.get(task="tickets.tasks.sweep_attachment_files")
    assert schedule.enabled and schedule.crontab.hour == "3"
