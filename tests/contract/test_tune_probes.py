"""The JobStore contract for tune probes kept across searches: found by (tenant, key), never
another tenant's, replaced by a later save of the same key, pruned oldest first by age. Every
store (memory, SQLite, PostgreSQL) passes it."""

from __future__ import annotations

from datetime import timedelta

from vmafx.store.port import TuneProbe


def probe(farm, key: str, vmaf: float = 91.5, **fields) -> TuneProbe:
    fields.setdefault("job_id", f"job-{key[:8]}")
    result = {"score_after": {"vmaf": vmaf, "frame_count": 24}, "bytes": 1000}
    return TuneProbe(key=key, result=result, created_at=farm.now, **fields)


async def test_a_kept_probe_is_found_by_its_tenant_and_key_with_who_made_it(farm):
    kept = probe(farm, "a" * 64, node="n1", where="n1 / NVIDIA L4", gpu="NVIDIA L4")
    await farm.store.save_tune_probe("acme", kept)
    await farm.store.save_tune_probe("acme", probe(farm, "b" * 64, vmaf=80.0))
    found = await farm.store.find_tune_probes("acme", ["a" * 64, "c" * 64])
    assert found == {"a" * 64: kept}
    assert await farm.store.find_tune_probes("acme", []) == {}


async def test_another_tenants_probe_is_never_found(farm):
    await farm.store.save_tune_probe("acme", probe(farm, "a" * 64))
    assert await farm.store.find_tune_probes("globex", ["a" * 64]) == {}
    theirs = probe(farm, "a" * 64, vmaf=50.0, job_id="globex-job")
    await farm.store.save_tune_probe("globex", theirs)
    mine = await farm.store.find_tune_probes("acme", ["a" * 64])
    assert mine["a" * 64].job_id == "job-aaaaaaaa"
    assert (await farm.store.find_tune_probes("globex", ["a" * 64]))["a" * 64] == theirs


async def test_saving_a_key_again_replaces_the_probe(farm):
    await farm.store.save_tune_probe("acme", probe(farm, "a" * 64, vmaf=70.0))
    farm.clock.advance(1)
    again = probe(farm, "a" * 64, vmaf=72.0, job_id="later")
    await farm.store.save_tune_probe("acme", again)
    assert await farm.store.find_tune_probes("acme", ["a" * 64]) == {"a" * 64: again}


async def test_probes_older_than_the_cut_off_are_pruned_oldest_first(farm):
    await farm.store.save_tune_probe("acme", probe(farm, "1" * 64))
    farm.clock.advance(10)
    await farm.store.save_tune_probe("globex", probe(farm, "2" * 64))
    farm.clock.advance(10)
    await farm.store.save_tune_probe("acme", probe(farm, "3" * 64))
    cut = farm.now - timedelta(seconds=1)
    assert await farm.store.prune_tune_probes(created_before=cut, limit=1) == 1
    assert await farm.store.find_tune_probes("acme", ["1" * 64]) == {}  # the oldest went first
    assert set(await farm.store.find_tune_probes("globex", ["2" * 64])) == {"2" * 64}
    assert await farm.store.prune_tune_probes(created_before=cut, limit=10) == 1
    assert await farm.store.prune_tune_probes(created_before=cut, limit=10) == 0
    assert set(await farm.store.find_tune_probes("acme", ["3" * 64])) == {"3" * 64}
