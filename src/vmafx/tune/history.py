"""What earlier searches learned, in a small JSON file in the state folder (`tune/history.json`).

The farm will keep these records on the controller; on one machine they live here. A corrupt or
unreadable file is treated as empty (a prediction is only a start; the search measures anyway).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

from vmafx.tune.prior import Record

log = logging.getLogger(__name__)
#: Records kept (oldest dropped first).
KEEP = 500


class History:
    def __init__(self, path: Path) -> None:
        self.path = path

    def records(self) -> list[Record]:
        try:
            raw = json.loads(self.path.read_text())
            return [Record(**item) for item in raw]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, TypeError) as error:
            log.warning("ignoring the tuner history at %s: %s", self.path, error)
            return []

    def add(self, record: Record) -> None:
        records = [*self.records(), record][-KEEP:]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".history-")
        with os.fdopen(fd, "w") as out:
            json.dump([r.as_dict() for r in records], out)
        os.replace(tmp, self.path)
