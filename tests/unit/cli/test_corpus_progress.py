"""The corpus progress bar: clips done out of all, clips/s, ETA and failures so far, on stderr."""

from __future__ import annotations

import io

from rich.console import Console

from vmafx.cli.corpus import BarProgress
from vmafx.corpus.clips import ClipFailed, ClipScored


def test_the_bar_counts_resumed_clips_rate_eta_and_failures():
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    with BarProgress(console) as bar:
        bar.start(total=10, finished=4, failed=0)
        bar.advance(ClipScored("a", {}))
        bar.advance(ClipFailed("b", "NotVideoError", "corrupt", 4))
    text = screen.getvalue()
    assert "6/10" in text
    assert "clips/s" in text
    assert "ETA" in text
    assert "1 failed" in text


def test_the_bar_starts_with_failures_kept_from_an_earlier_run():
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    with BarProgress(console) as bar:
        bar.start(total=10, finished=10, failed=2)
    assert "2 failed" in screen.getvalue()
