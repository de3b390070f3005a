"""Target-quality search and per-title ladders.

`search` and `hull` are pure (they take an `evaluate` callable or measured points); `evaluator`
is the one module here that runs ffmpeg (through `vmafx.media`); `cache` and `history` keep
probe results and what earlier searches learned in the state folder.
"""
