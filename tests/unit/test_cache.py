"""The on-disk model cache: keyed by content and code, private, and never trusted blindly."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from frontdesk.loading.cache import DiskCache, code_key, content_hash
from frontdesk.model import Playbook, State

DIGEST = content_hash("playbook: x\n")


def model() -> Playbook:
    return Playbook("x", 1, "X", ("staff",), "a", {"a": State("a", final=True)})


@pytest.fixture
def cache(tmp_path: Path) -> DiskCache:
    """A cache in a fresh home (the home exists; the cache folders do not yet)."""
    return DiskCache.for_home(tmp_path)


def entries(cache: DiskCache) -> list[Path]:
    assert cache.folder is not None
    return sorted(cache.folder.glob("*.pickle"))


def test_round_trip_in_a_private_folder(cache: DiskCache) -> None:
    """A saved model loads back equal; folder 0700, file 0600, named by digest and code key."""
    assert cache.load("playbook", DIGEST) is None
    cache.save("playbook", DIGEST, model())
    assert cache.load("playbook", DIGEST) == model()
    assert cache.folder is not None
    assert stat.S_IMODE(cache.folder.stat().st_mode) == 0o700
    [entry] = entries(cache)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert entry.name == f"playbook-{DIGEST}-{code_key()}.pickle"


def test_other_digest_or_kind_misses(cache: DiskCache) -> None:
    """An entry serves only its own (kind, digest)."""
    cache.save("playbook", DIGEST, model())
    assert cache.load("playbook", content_hash("other")) is None
    assert cache.load("practice", DIGEST) is None


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_damaged_entry_is_a_miss_and_is_rewritten(cache: DiskCache, damage: str) -> None:
    """A truncated or corrupt entry is a miss, never an error; saving again repairs it."""
    cache.save("playbook", DIGEST, model())
    [entry] = entries(cache)
    data = entry.read_bytes()
    entry.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x80\x05junk",
                       "empty": b""}[damage])
    assert cache.load("playbook", DIGEST) is None
    cache.save("playbook", DIGEST, model())
    assert cache.load("playbook", DIGEST) == model()


def test_renamed_entry_is_a_miss(cache: DiskCache) -> None:
    """The digest inside the entry must match its name (a copied file serves nothing)."""
    cache.save("playbook", DIGEST, model())
    [entry] = entries(cache)
    other = content_hash("other")
    entry.rename(entry.with_name(entry.name.replace(DIGEST, other)))
    assert cache.load("playbook", other) is None


def test_entry_readable_by_others_is_ignored(cache: DiskCache) -> None:
    """An entry others may write or read (not 0600) is not unpickled."""
    cache.save("playbook", DIGEST, model())
    [entry] = entries(cache)
    entry.chmod(0o644)
    assert cache.load("playbook", DIGEST) is None


def test_shared_folder_is_not_used(cache: DiskCache) -> None:
    """A cache folder open to others is neither read nor written."""
    cache.save("playbook", DIGEST, model())
    assert cache.folder is not None
    cache.folder.chmod(0o755)
    fresh = DiskCache(cache.folder)
    assert fresh.load("playbook", DIGEST) is None
    fresh.save("practice", DIGEST, "x")
    assert len(entries(fresh)) == 1


def test_no_home_no_cache(tmp_path: Path) -> None:
    """Saving never creates a home folder that does not exist; it just does nothing."""
    cache = DiskCache.for_home(tmp_path / "missing-home")
    cache.save("playbook", DIGEST, model())
    assert not (tmp_path / "missing-home").exists()
    assert cache.load("playbook", DIGEST) is None


def test_symlinked_entry_is_not_followed(cache: DiskCache, tmp_path: Path) -> None:
    """An entry that is a symbolic link (to anything) is a miss."""
    cache.save("playbook", DIGEST, model())
    [entry] = entries(cache)
    target = tmp_path / "elsewhere.pickle"
    os.replace(entry, target)
    entry.symlink_to(target)
    assert cache.load("playbook", DIGEST) is None


def test_expression_code_runs_like_compile_expression() -> None:
    """Code kept for an expression or template behaves as Jinja's own compilation: values,
    strict undefined names, and the sandbox's limits."""
    from frontdesk import sandbox
    from jinja2.exceptions import SecurityError, UndefinedError

    for source, values in [("a + 1 >= b", {"a": 1, "b": 2}), ("[x, 2] | max", {"x": 5}),
                           ("'%s-%s' % (a, b)", {"a": "x", "b": 3})]:
        code = sandbox.expression_code(source)
        assert sandbox.expression_from_code(code)(**values) == (
            sandbox.compile_expression(source)(**values))
    with pytest.raises(UndefinedError):
        sandbox.expression_from_code(sandbox.expression_code("missing + 1"))()
    with pytest.raises(SecurityError):
        sandbox.expression_from_code(sandbox.expression_code("'x' * 200000"))()
    render = sandbox.template_from_code(sandbox.template_code("Hi {{ who }}!"))
    assert render({"who": "Zoë"}) == "Hi Zoë!"


def test_entries_of_other_code_are_pruned_on_save(cache: DiskCache) -> None:
    """Saving removes entries another frontdesk (another code key) left behind."""
    cache.save("playbook", DIGEST, model())
    assert cache.folder is not None
    stale = cache.folder / f"playbook-{DIGEST}-0123456789abcdef.pickle"
    stale.write_bytes(b"old")
    stale.chmod(0o600)
    cache.save("practice", DIGEST, "new")
    assert not stale.exists()
    assert len(entries(cache)) == 2
