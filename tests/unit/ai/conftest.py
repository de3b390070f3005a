"""The AI test factories (tests/ai_fixtures.py), re-exported so pytest finds the fixtures."""

from tests.ai_fixtures import *  # noqa: F403
from tests.ai_fixtures import N, good_weights, random_weights  # noqa: F401 - named for test imports
