"""`/v1/models`: the trainer's model versions and their figures, read from its registry.json.

The controller reads the checkpoint folder it was given (`--model-dir`, which `vmafx up` sets
to the folder its trainer and nodes share) on every call: the trainer rewrites the file
atomically, so a read sees either the old registry or the new one. Reading it needs neither
torch nor ONNX Runtime.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from vmafx.ai.registry import read_registry
from vmafx.controller.auth import Action, require
from vmafx.controller.http import encode
from vmafx.controller.http.context import Caller, Ctx
from vmafx.controller.http.schemas import ErrorOut, ModelListOut


async def list_models(ctx: Ctx, who: Caller) -> ModelListOut:
    """Every version newest first, with the one `latest-stable` serves (reader)."""
    require(who, Action.READ)
    registry = await asyncio.to_thread(read_registry, ctx.model_dir)
    return encode.models_out(registry, ctx.model_dir)


def models_router() -> APIRouter:
    router = APIRouter(prefix="/v1/models", tags=["models"])
    router.add_api_route(
        "",
        list_models,
        methods=["GET"],
        response_model=ModelListOut,
        responses={500: {"model": ErrorOut, "description": "registry.json is unreadable"}},
    )
    return router
