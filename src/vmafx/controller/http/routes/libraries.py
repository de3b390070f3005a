"""`/v1/libraries`: each watched folder (`vmafx watch`) with its jobs counted by state.

A library is known by its jobs (batch id `watch:NAME`, `vmafx.core.libraries`), so it appears
once the watcher has submitted its first file and survives restarts of the watcher and of the
controller; its jobs are listed with `GET /v1/jobs?batch_id=watch:NAME`.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from vmafx.controller.auth import Action, require
from vmafx.controller.http.context import Caller, Ctx
from vmafx.core.jobs import JobState
from vmafx.core.libraries import WATCH_PREFIX, library_name


class LibraryOut(BaseModel):
    name: str
    batch_id: str = Field(description="List its jobs with GET /v1/jobs?batch_id=…")
    jobs: int = Field(description="Jobs submitted (one per file version and rule)")
    states: dict[JobState, int]


class LibraryListOut(BaseModel):
    libraries: list[LibraryOut]


async def list_libraries(ctx: Ctx, who: Caller) -> LibraryListOut:
    """The tenant's watched folders and how their jobs stand (role reader or above)."""
    require(who, Action.READ)
    counts = await ctx.service.store.batch_counts(WATCH_PREFIX, tenant=who.tenant)
    return LibraryListOut(
        libraries=[
            LibraryOut(
                name=library_name(batch), batch_id=batch, jobs=sum(states.values()), states=states
            )
            for batch, states in sorted(counts.items())
        ]
    )


def libraries_router() -> APIRouter:
    router = APIRouter(prefix="/v1/libraries", tags=["libraries"])
    router.add_api_route("", list_libraries, methods=["GET"], response_model=LibraryListOut)
    return router
