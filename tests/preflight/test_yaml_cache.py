"""The disk cache of parsed YAML returns what a parse returns, fresh each time, and survives a broken entry."""

from __future__ import annotations

import yaml

from preflight import yaml_cache

BIG = "---\n".join(f"kind: Thing\nmetadata: {{name: n{i}}}\npad: {'x' * 100}\n" for i in range(1000))


def test_a_cached_parse_equals_a_parse_and_is_a_fresh_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("GPU_EKS_CACHE_DIR", str(tmp_path))
    first = yaml_cache.load_all(BIG, yaml.CSafeLoader)
    assert len(list((tmp_path / "yaml").glob("*.pickle"))) == 1
    first[0]["kind"] = "Changed"
    second = yaml_cache.load_all(BIG, yaml.CSafeLoader)
    assert second == list(yaml.load_all(BIG, Loader=yaml.SafeLoader))


def test_a_broken_entry_is_parsed_again(tmp_path, monkeypatch):
    monkeypatch.setenv("GPU_EKS_CACHE_DIR", str(tmp_path))
    yaml_cache.load_all(BIG, yaml.CSafeLoader)
    (entry,) = (tmp_path / "yaml").glob("*.pickle")
    entry.write_bytes(b"not a pickle")
    assert yaml_cache.load_all(BIG, yaml.CSafeLoader)[999]["metadata"] == {"name": "n999"}


def test_an_unwritable_cache_is_ignored(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("GPU_EKS_CACHE_DIR", str(tmp_path / "file"))  # a file where the folder should be
    assert len(yaml_cache.load_all(BIG, yaml.CSafeLoader)) == 1000
