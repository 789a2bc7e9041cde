"""``read_source`` reads a user's file bounded: only a regular file, at most the limit plus one
byte, and every refusal is one issue located at ``PATH:1:1`` (or at the bad byte)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from frontdesk.errors import Issue
from frontdesk.loading import files
from frontdesk.loading.files import MAX_BYTES, read_source
from frontdesk.loading.yamlsource import parse_text


def refused(issues: list[Issue]) -> tuple[str, str, int, int]:
    """The one issue's code, message, line and column."""
    [issue] = issues
    assert issue.location is not None and issue.location.path == "shown.yaml"
    return issue.code, issue.message, issue.location.line, issue.location.col


def test_regular_file_is_read(tmp_path: Path) -> None:
    """A UTF-8 file's text, its byte order mark dropped."""
    path = tmp_path / "x.yaml"
    path.write_bytes(b"\xef\xbb\xbfplaybook: x\n")
    assert read_source(path, "shown.yaml") == ("playbook: x\n", [])


def test_file_at_the_limit_is_read(tmp_path: Path) -> None:
    """Exactly ``MAX_BYTES`` is still fine."""
    path = tmp_path / "x.yaml"
    path.write_bytes(b"#" * (MAX_BYTES - 1) + b"\n")
    text, issues = read_source(path, "shown.yaml")
    assert issues == [] and text is not None and len(text) == MAX_BYTES


def test_sparse_file_refused_by_its_size(tmp_path: Path) -> None:
    """A 3 GB sparse file is refused from its size, never read."""
    path = tmp_path / "x.yaml"
    with path.open("wb") as stream:
        stream.truncate(3 * 1024 ** 3)
    assert refused(read_source(path, "shown.yaml")[1]) == (
        "too-large", f"file is {3 * 1024 ** 3} bytes; the limit is {MAX_BYTES} (1 MiB)", 1, 1)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_file_larger_than_its_size_says_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file whose size on disk says 0 (``/proc``) is read only up to the limit plus one
    byte, then refused."""
    assert os.stat("/proc/self/maps").st_size == 0
    monkeypatch.setattr(files, "MAX_BYTES", 10)
    assert refused(read_source(Path("/proc/self/maps"), "shown.yaml")[1]) == (
        "too-large", "file is over the limit of 10 bytes (1 MiB)", 1, 1)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_device_refused() -> None:
    """``/dev/zero`` is a device, not a file: refused without reading."""
    assert refused(read_source(Path("/dev/zero"), "shown.yaml")[1]) == (
        "not-a-file", "this is a character device, not a regular file", 1, 1)


def test_folder_refused(tmp_path: Path) -> None:
    """A folder named like a playbook file."""
    (tmp_path / "x.yaml").mkdir()
    assert refused(read_source(tmp_path / "x.yaml", "shown.yaml")[1])[:2] == (
        "not-a-file", "this is a folder, not a regular file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_refused_without_waiting(tmp_path: Path) -> None:
    """A FIFO no one writes to is refused at once (the thread only guards against a hang)."""
    path = tmp_path / "x.yaml"
    os.mkfifo(path)
    found: list[list[Issue]] = []
    reader = threading.Thread(target=lambda: found.append(read_source(path, "shown.yaml")[1]),
                              daemon=True)
    reader.start()
    reader.join(timeout=20)
    assert found, "read_source waited on a FIFO"
    assert refused(found[0])[:2] == (
        "not-a-file", "this is a FIFO (named pipe), not a regular file")


def test_missing_file_unreadable(tmp_path: Path) -> None:
    """A file that does not exist (or a dangling link) cannot be read."""
    assert refused(read_source(tmp_path / "none.yaml", "shown.yaml")[1]) == (
        "unreadable", "cannot read file: No such file or directory", 1, 1)


def test_binary_and_bad_utf8(tmp_path: Path) -> None:
    """A NUL byte makes a file binary; bad UTF-8 is located at its byte."""
    path = tmp_path / "x.yaml"
    path.write_bytes(b"a: 1\x00\n")
    assert refused(read_source(path, "shown.yaml")[1])[0] == "binary"
    path.write_bytes(b"a: 1\nbb: \xff\n")
    assert refused(read_source(path, "shown.yaml")[1]) == (
        "encoding", "file is not valid UTF-8 text", 2, 5)


def test_number_with_too_many_digits_is_a_located_error() -> None:
    """A plain integer longer than Python converts stays text with a located error, rather
    than failing the whole command."""
    documents, issues = parse_text("a: 1\nb: " + "7" * 5000 + "\n", "shown.yaml")
    assert documents[0].data == {"a": 1, "b": "7" * 5000}
    assert [i.format() for i in issues] == [
        "shown.yaml:2:4: error[too-large]: a number with this many digits is not supported "
        "(quote it if it is text)"]
