from dataclasses import dataclass
from typing import Literal

import pytest

from kbd_lm.common.config import ConfigError, from_dict, load_config, to_toml
from kbd_lm.training.loop import TrainConfig


@dataclass(frozen=True)
class Demo:
    rate: float = 0.1
    name: str = "x"
    mode: Literal["a", "b"] = "a"
    steps: int = 3
    flag: bool = False


def test_overrides_are_typed():
    cfg = load_config(Demo, overrides=["rate=1", "name=hello", 'mode="b"', "flag=true"])
    assert cfg == Demo(rate=1.0, name="hello", mode="b", flag=True)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("nope=1", "unknown key"),
        ("steps=1.5", "expected int"),
        ("steps=true", "expected an integer"),
        ('mode="c"', "expected one of"),
        ("flag=1", "true or false"),
        ("noequals", "key=value"),
    ],
)
def test_bad_overrides_are_refused(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(Demo, overrides=[override])


def test_bad_preset_file_is_refused(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('units = "big"\n')
    with pytest.raises(ConfigError, match="units: expected int"):
        load_config(TrainConfig, "train", str(bad))
    with pytest.raises(ConfigError, match="unknown train preset"):
        load_config(TrainConfig, "train", "no-such-preset")


def test_resolved_config_round_trips_through_toml():
    import tomllib

    cfg = load_config(TrainConfig, "train", "default", ["epochs=3"])
    assert from_dict(TrainConfig, tomllib.loads(to_toml(cfg))) == cfg
