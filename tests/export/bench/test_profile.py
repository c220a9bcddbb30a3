"""Budget profiles: the shipped ones load, and bad keys or types are refused."""

from __future__ import annotations

import pytest

from kbd_lm.common.config import ConfigError
from kbd_lm.export import bench


def test_shipped_profiles_load():
    names = bench.profile_names()
    assert {"default", "phone-a76", "phone-a55"} <= set(names)
    assert "native" in names
    profiles = {name: bench.load_profile(name) for name in names}
    native = profiles.pop("native")  # the native decoder beside Python, not a phone budget
    assert native.engine == "native" and all(p.engine == "python" for p in profiles.values())
    assert (native.native_completion_p99_ms, native.native_cold_start_ms) == (0.5, 30.0)
    for p in profiles.values():
        assert p.slowdown > 1 and p.score_source
        assert (p.suggest_p99_ms, p.cold_start_ms, p.peak_rss_mb, p.bundle_bytes) == (
            2.0,
            150.0,
            40.0,
            1_500_000,
        )
    assert profiles["phone-a55"].slowdown > profiles["phone-a76"].slowdown
    assert profiles["phone-a76"].phone_suggest_p99_ms > 0


def test_profile_rejects_unknown_keys_and_bad_types(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nsuggest_p99_ms = 2.0\nsugest_p99_ms = 1.0\n')
    with pytest.raises(ConfigError, match="sugest_p99_ms"):
        bench.load_profile(str(bad))
    with pytest.raises(ConfigError, match="nope"):
        bench.load_profile("default", ["nope=1"])
    with pytest.raises(ConfigError, match="calls"):
        bench.load_profile("default", ['calls="many"'])
    with pytest.raises(ConfigError, match="known profiles"):
        bench.load_profile("no-such-phone")


def test_the_beam_width_is_the_bundles_unless_a_profile_narrows_it():
    from kbd_lm.inference.decoding import DecodingSpec, decoding_for

    assert all(bench.load_profile(name).beam_width == 0 for name in bench.profile_names())
    assert bench.load_profile("default").beam_width_for(DecodingSpec()) == 8
    assert bench.load_profile("default").beam_width_for(decoding_for((1, 2, 4))) == 4
    assert bench.load_profile("default", ["beam_width=2"]).beam_width_for(DecodingSpec()) == 2
    with pytest.raises(ConfigError, match="beam_width 16 is more than the bundle's beam width 8"):
        bench.load_profile("default", ["beam_width=16"]).beam_width_for(DecodingSpec())
    with pytest.raises(ConfigError, match="beam_width must be >= 0"):
        bench.load_profile("default", ["beam_width=-1"])
