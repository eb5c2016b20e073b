"""Disk full: relief.storage.MediaStorage removes a file it could not write
whole; a job whose result finds no room fails with the reason."""

from __future__ import annotations

import errno

import pytest
from django.core.files.base import ContentFile

from relief import jobs
from relief.models import Job, JobStatus
from relief.storage import MediaStorage, no_room


class FillsTheDisk(ContentFile):
    """Content the disk runs out of room for after its first chunk."""

    def __init__(self, error: int = errno.ENOSPC) -> None:
        super().__init__(b"x" * 100, name="roster.xlsx")
        self.error = error

    def chunks(self, chunk_size=None):
        yield b"the first half"
        raise OSError(self.error, "No space left on device")


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EDQUOT])
def test_it_removes_a_file_the_disk_had_no_room_for(tmp_path, error):
    storage = MediaStorage(location=tmp_path)
    with pytest.raises(OSError) as raised:
        storage.save("rosters/roster.xlsx", FillsTheDisk(error))
    assert no_room(raised.value)
    assert not (tmp_path / "rosters" / "roster.xlsx").exists()
    # A whole file is written as Django writes it.
    name = storage.save("rosters/roster.xlsx", ContentFile(b"whole"))
    assert (tmp_path / name).read_bytes() == b"whole"


def test_it_leaves_alone_a_file_that_was_there_before(tmp_path, monkeypatch):
    storage = MediaStorage(location=tmp_path)
    (tmp_path / "kept.txt").write_bytes(b"older")
    # Overwriting is not what save() does, but _save must never remove what it did not write.
    with pytest.raises(OSError):
        storage._save("kept.txt", FillsTheDisk())
    assert (tmp_path / "kept.txt").read_bytes() == b"older"


@jobs.handler("test.big_result")
def _big_result(job: Job, progress: jobs.Progress) -> jobs.Output:
    path = jobs.Path(job.params["tmp"]) / "ledger.xlsx"
    path.write_bytes(b"a ledger")
    return jobs.Output(name="ledger.xlsx", path=path)


def test_it_fails_a_job_whose_result_finds_no_room(people, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"

    def full(self, name, content):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(MediaStorage, "_save", full)
    work = tmp_path / "work"
    work.mkdir()
    job = jobs.start(
        people.clerk_a, "test.big_result", "ledger", {"tmp": str(work)}, background=False
    )
    assert job.status == JobStatus.FAILED
    assert "磁盘已满" in job.error
    assert (job.result_name, bool(job.result)) == ("", False)
    assert list(work.iterdir()) == []  # the handler's file is not left behind either
