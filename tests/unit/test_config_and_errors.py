import dataclasses

import pytest

from vmafx import config
from vmafx.controller.settings import controller_settings
from vmafx.errors import (
    EXIT_CODES,
    ConfigError,
    FfmpegCancelledError,
    MismatchError,
    VmafxError,
    exit_code_for,
)


@dataclasses.dataclass(frozen=True)
class Demo:
    threads: int = 1
    name: str = "x"
    enabled: bool = False
    limit: float | None = None


def test_flags_beat_environment_beat_file_beat_defaults(tmp_path):
    file = tmp_path / "c.toml"
    file.write_text('[demo]\nthreads = 3\nname = "file"\nenabled = true\n')
    env = {"VMAFX_DEMO_THREADS": "5", "VMAFX_DEMO_LIMIT": "2.5"}
    got = config.load(Demo, "demo", flags={"threads": 7, "name": None}, env=env, file=file)
    assert got == Demo(threads=7, name="file", enabled=True, limit=2.5)
    assert config.load(Demo, "demo", env={}, file=tmp_path / "none.toml") == Demo()


def test_a_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match="VMAFX_DEMO_THREADS"):
        config.load(Demo, "demo", env={"VMAFX_DEMO_THREADS": "many"}, file=None)


def test_state_dir_follows_xdg_and_never_the_working_directory():
    assert str(config.state_dir({"XDG_STATE_HOME": "/s"})) == "/s/vmafx"


def test_the_controller_lists_the_trainers_default_folder_unless_told_otherwise(tmp_path):
    env = {"XDG_STATE_HOME": str(tmp_path), "VMAFX_CONFIG": str(tmp_path / "none.toml")}
    assert controller_settings(env=env).model_dir == tmp_path / "vmafx" / "models"
    env["VMAFX_CONTROLLER_MODEL_DIR"] = str(tmp_path / "mine")
    assert controller_settings(env=env).model_dir == tmp_path / "mine"
    flags = {"model_dir": tmp_path / "flag"}
    assert controller_settings(flags=flags, env=env).model_dir == tmp_path / "flag"


def test_vmafx_ffmpeg_selects_the_binary():
    assert config.ffmpeg_settings(env={"VMAFX_FFMPEG": "/opt/ff"}).path == "/opt/ff"


def test_every_error_class_has_a_distinct_exit_code_except_documented_families():
    codes = {cls.__name__: code for cls, code in EXIT_CODES.items()}
    assert codes["MismatchError"] == 6
    assert len(set(EXIT_CODES.values())) >= 15
    assert exit_code_for(MismatchError("x")) == 6
    assert exit_code_for(FfmpegCancelledError("x")) == 130
    assert exit_code_for(RuntimeError("x")) == 1


def test_errors_join_message_and_hint_in_one_paragraph():
    assert str(VmafxError("What broke.", hint="How to fix.")) == "What broke. How to fix."
