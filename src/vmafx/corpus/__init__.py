"""Corpus scoring: a manifest of clips in, one feature row per clip out, resumably.

    manifest.py   read and validate CSV / JSONL / Parquet manifests (every problem at once)
    clips.py      one clip: what to score, how its outcome becomes an output row or a failure
    executor.py   the `ClipExecutor` port and its local process-pool implementation
    staging.py    the append-only, fsynced staging file and `.done` list that make runs resumable
    output.py     the final Parquet (atomic, consistency-checked), failures file, run manifest
    driver.py     `score_corpus`: resume, run the executor, stage, write

A farm executor (one score job per clip through the controller) plugs in behind `ClipExecutor`.
"""
