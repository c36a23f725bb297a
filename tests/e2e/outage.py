"""A database outage on demand: every statement fails as if the server refused connections."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine


class DatabaseOutage:
    def __init__(self, engine: AsyncEngine) -> None:
        self.down = False
        self.refused = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._refuse)

    def _refuse(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.down:
            self.refused += 1
            raise OperationalError(
                statement, None, ConnectionRefusedError(111, "Connection refused (test outage)")
            )
