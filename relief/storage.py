"""Where uploads and job results are kept on disk (settings.STORAGES["default"])."""

from __future__ import annotations

import errno
import os
from typing import Any

from django.core.files.storage import FileSystemStorage

# Writing failed because there is no room: disk full, quota spent, file too big.
NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def no_room(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in NO_ROOM


class MediaStorage(FileSystemStorage):
    """Django's file storage, except that a file it could not write whole (the
    disk filled up halfway) is removed instead of staying behind cut short:
    the record that would have pointed at it is rolled back with the error,
    so nothing refers to it and nothing half-written is ever served."""

    def _save(self, name: str, content: Any) -> str:
        path = self.path(name)
        existed = os.path.lexists(path)
        try:
            return super()._save(name, content)
        except OSError:
            # `name` is free when save() calls us (get_available_name); only a
            # race with another writer of the same name makes Django pick a
            # second one, which this cannot see: that file stays.
            if not existed and os.path.lexists(path):
                os.remove(path)
            raise
