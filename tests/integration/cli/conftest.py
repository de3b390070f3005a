"""The farm the client CLI tests talk to: a real controller with auth on (tokens per role), one
per test module. Modules that need another farm (nodes answering probes, auth off) define
their own `farm`, which overrides this one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.farm import FakeNode, Farm, migrated_template

from vmafx.core.tokens import Role


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    folder = tmp_path_factory.mktemp("cli-farm")
    made = Farm(folder / "farm", migrated_template(folder), auth_disabled=False)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(scope="module")
def node(farm: Farm) -> Iterator[FakeNode]:
    made = farm.node(token=farm.token(Role.NODE))
    yield made
    farm.run(made.close())


@pytest.fixture(scope="module")
def writer(farm: Farm) -> str:
    return farm.token(Role.WRITER)
