"""Per-tenant object storage on the controller: allow-lists (deny by default), the tenant's
secrets file, and the URLs signed for each claim (a fake store: no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmafx.controller.inputs import InputPolicy
from vmafx.controller.storage import StorageAccess, TenantStorage, read_env_file
from vmafx.core.jobs import JobKind
from vmafx.core.remote import ObjectUrl
from vmafx.errors import ConfigError, ForbiddenError, NotVideoError, UsageError
from vmafx.testing import make_job


class FakeStore:
    def __init__(self) -> None:
        self.signed: list[tuple[str, ObjectUrl, int]] = []

    def sign_get(self, url: ObjectUrl, ttl_s: int) -> str:
        self.signed.append(("get", url, ttl_s))
        return f"https://signed.example/{url.bucket}/{url.key}?sig={len(self.signed)}"

    def sign_put(self, url: ObjectUrl, ttl_s: int) -> str:
        self.signed.append(("put", url, ttl_s))
        return f"https://signed.example/{url.bucket}/{url.key}?put={len(self.signed)}"


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def access(store: FakeStore) -> StorageAccess:
    allow = (ObjectUrl("s3", "media", "acme/"),)
    return StorageAccess({"acme": TenantStorage("acme", allow, store)}, ttl_s=600)


def test_an_object_under_the_tenants_prefix_is_allowed(access):
    access.check("s3://media/acme/clips/ref.mp4", "acme", JobKind.SCORE, "reference")


@pytest.mark.parametrize(
    ("value", "tenant"),
    [
        ("s3://media/other/ref.mp4", "acme"),  # another prefix
        ("s3://media/acmeX/ref.mp4", "acme"),  # a prefix is a folder, not a string start
        ("s3://other/acme/ref.mp4", "acme"),  # another bucket
        ("s3://media/acme/ref.mp4", "globex"),  # a tenant with no list: deny by default
    ],
)
def test_anything_else_is_forbidden_naming_the_allow_list(access, value, tenant):
    with pytest.raises(ForbiddenError, match="storage allow-list"):
        access.check(value, tenant, JobKind.SCORE, "reference")


def test_a_prefix_without_a_trailing_slash_still_matches_only_whole_folders():
    allow = (ObjectUrl("s3", "media", "acme"),)
    access = StorageAccess({"acme": TenantStorage("acme", allow, FakeStore())})
    access.check("s3://media/acme/ref.mp4", "acme", JobKind.SCORE, "reference")
    with pytest.raises(ForbiddenError):
        access.check("s3://media/acmeX/ref.mp4", "acme", JobKind.SCORE, "reference")


def test_dot_segments_and_playlists_are_refused(access):
    with pytest.raises(UsageError, match=r"'\.' or '\.\.' segments"):
        access.check("s3://media/acme/../other/x.mp4", "acme", JobKind.SCORE, "reference")
    with pytest.raises(NotVideoError, match="HLS playlist"):
        access.check("s3://media/acme/list.m3u8", "acme", JobKind.SCORE, "distorted[0]")


def test_fields_that_do_not_take_objects_yet_say_so(access):
    with pytest.raises(UsageError, match="tune jobs. source so far, not by tune jobs. output"):
        access.check("s3://media/acme/out.mp4", "acme", JobKind.TUNE, "output")
    access.check("s3://media/acme/in.mp4", "acme", JobKind.TUNE, "source")
    with pytest.raises(UsageError, match="not by thumbnail jobs. source"):
        access.check("s3://media/acme/in.mp4", "acme", JobKind.THUMBNAIL, "source")
    access.check("s3://media/acme/in.mp4", "acme", JobKind.ENCODE, "source")
    access.check("s3://media/acme/out.mp4", "acme", JobKind.ENCODE, "output")
    with pytest.raises(UsageError, match="segment files"):
        access.check("s3://media/acme/out.m3u8", "acme", JobKind.ENCODE, "output")


def test_the_input_policy_sends_object_urls_to_the_allow_list(access, tmp_path):
    policy = InputPolicy([tmp_path], storage=access)
    spec = {"reference": "s3://media/acme/ref.mp4", "distorted": ["s3://media/other/d.mp4"]}
    with pytest.raises(ForbiddenError, match=r"distorted\[0\]"):
        policy.check_spec(JobKind.SCORE, spec, "acme")
    spec["distorted"] = ["s3://media/acme/d.mp4"]
    policy.check_spec(JobKind.SCORE, spec, "acme")


def test_a_claim_gets_one_signed_get_per_object_input_and_nothing_for_local_paths(access, store):
    job = make_job(
        tenant="acme",
        spec={
            "reference": "s3://media/acme/r.mp4",
            "distorted": ["s3://media/acme/d.mp4", "/m/x.mp4"],
        },
    )
    inputs, outputs = access.sign_claim(job)
    assert sorted(inputs) == ["s3://media/acme/d.mp4", "s3://media/acme/r.mp4"]
    assert outputs == {}
    assert [(kind, ttl) for kind, _, ttl in store.signed] == [("get", 600), ("get", 600)]
    again, _ = access.sign_claim(job)  # a retry: signed afresh
    assert again != inputs and len(store.signed) == 4


def test_a_tune_job_of_an_object_must_name_a_local_output(access, tmp_path):
    policy = InputPolicy([tmp_path], storage=access)
    spec = {"source": "s3://media/acme/in.mp4", "codec": "h264"}
    with pytest.raises(UsageError, match="names no output"):
        policy.check_spec(JobKind.TUNE, spec, "acme")
    policy.check_spec(JobKind.TUNE, {**spec, "output": str(tmp_path / "best.mkv")}, "acme")


def test_an_encode_claim_gets_a_get_for_its_source_and_a_put_for_its_output(access, store):
    spec = {
        "source": "s3://media/acme/in.mp4",
        "output": "s3://media/acme/out.mp4",
        "codec": "h264",
    }
    job = make_job(kind=JobKind.ENCODE, tenant="acme", spec=spec)
    assert StorageAccess.names_objects(job)
    inputs, outputs = access.sign_claim(job)
    assert list(inputs) == ["s3://media/acme/in.mp4"] and "sig=" in inputs["s3://media/acme/in.mp4"]
    assert list(outputs) == ["s3://media/acme/out.mp4"]
    assert [kind for kind, _, _ in store.signed] == ["get", "put"]


def test_the_secret_never_shows_in_a_repr(tmp_path):
    from vmafx.storage.s3 import S3Credentials, S3ObjectStore

    credentials = S3Credentials("AKID", "the-secret", "http://127.0.0.1:9000")
    tenant = TenantStorage("acme", (), S3ObjectStore(credentials))
    assert "the-secret" not in repr(credentials) + repr(tenant) + repr(
        StorageAccess({"acme": tenant})
    )


def test_a_tenant_file_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "acme.env"
    path.write_text("AWS_ACCESS_KEY_ID=a\nAWS_SECRET_ACCESS_KEY=b\n")
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_env_file(path)
    path.chmod(0o600)
    assert read_env_file(path) == {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}


def test_tenants_come_from_their_files_and_from_the_environment(tmp_path: Path):
    (tmp_path / "acme.env").write_text(
        "# acme's bucket\nAWS_ACCESS_KEY_ID=a\nAWS_SECRET_ACCESS_KEY=b\n"
        "VMAFX_STORAGE_ALLOW=s3://acme-media/,s3://shared/acme/\n"
    )
    (tmp_path / "acme.env").chmod(0o600)
    env = {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
        "VMAFX_STORAGE_ALLOW": "dev=s3://media/",
    }
    access = StorageAccess.from_config(tmp_path, env)
    access.check("s3://acme-media/r.mp4", "acme", JobKind.SCORE, "reference")
    access.check("s3://shared/acme/r.mp4", "acme", JobKind.SCORE, "reference")
    access.check("s3://media/r.mp4", "dev", JobKind.SCORE, "reference")
    with pytest.raises(ForbiddenError):
        access.check("s3://media/r.mp4", "acme", JobKind.SCORE, "reference")


def test_a_malformed_allow_entry_is_a_config_error():
    with pytest.raises(ConfigError, match="TENANT=s3://BUCKET/PREFIX"):
        StorageAccess.from_config(None, {"VMAFX_STORAGE_ALLOW": "s3://media/"})


@pytest.mark.anyio
async def test_each_claim_of_a_retried_job_carries_fresh_urls_that_nothing_stores(farm, access):
    from vmafx.core.messages import JobRef, JobRequest

    farm.service.inputs = InputPolicy([farm.root], storage=access)
    spec = {"reference": "s3://media/acme/r.mp4", "distorted": ["s3://media/acme/d.mp4"]}
    request = JobRequest.parse(kind=JobKind.SCORE, spec=spec)
    job_id = (await farm.service.submit_job(farm.writer, request)).job.id
    session = await farm.register()
    first = await farm.service.pull_work(farm.node, session.node_id, session.session_token)
    assert first is not None and set(first.signed_inputs) == {spec["reference"], *spec["distorted"]}
    assert "signed.example" not in repr(first)
    await farm.service.release_jobs(
        farm.node, session.node_id, session.session_token, [JobRef(job_id, 1)], reason="retry"
    )
    second = await farm.service.pull_work(farm.node, session.node_id, session.session_token)
    assert second is not None and second.job.attempt == 2
    assert set(second.signed_inputs.values()).isdisjoint(first.signed_inputs.values())
    events = await farm.store.list_events(job_id)
    job = (await farm.service.get_job(farm.reader, job_id)).job
    assert "signed.example" not in repr(events) + repr(job) + repr(second)
