"""Values from a file or stdin (``--input``) on ``start``, ``fire`` and ``done``, and values for
every instance with ``fire --all --set``: patient data need not be on the command line."""

from __future__ import annotations

import json
import subprocess

from frontdesk_testing import Frontdesk


def test_start_fire_and_done_take_values_from_a_file(frontdesk: Frontdesk) -> None:
    fd = frontdesk
    start = fd.home.parent / "client.yaml"
    start.write_text("client: Ann Example\nvisits: 2\nreferred_on: 2026-01-02\n", "utf-8")
    started = fd.json("start", "rt-intake", "--input", str(start))
    assert started["vars"]["client"] == "Ann Example" and started["vars"]["visits"] == 2
    call = next(t["id"] for t in started["tasks"] if t["task"] == "call_client")
    (fd.home.parent / "done.yaml").write_text("reached: true\n", "utf-8")
    fd.ok("done", call, "--input", str(fd.home.parent / "done.yaml"))
    fired = fd.home.parent / "visit.json"
    fired.write_text(json.dumps({"visit_on": "2026-01-12"}), "utf-8")
    after = fd.json("fire", started["id"], "schedule", "--input", str(fired))
    assert after["state"] == "scheduled" and after["vars"]["visit_on"] == "2026-01-12"
    assert after["vars"]["reached"] is True


def test_input_from_stdin_and_set_wins(frontdesk: Frontdesk) -> None:
    """``--input -`` reads stdin (a real process); ``--set`` overrides a name in the file."""
    fd = frontdesk
    result = subprocess.run(fd.command(("start", "rt-intake", "--input", "-", "--set",
                                        "visits=3", "--json")),
                            input="client: Bo\nvisits: 1\n", env=fd.env(), text=True,
                            capture_output=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["vars"]["visits"] == 3


def test_a_bad_input_file_is_a_located_usage_error(frontdesk: Frontdesk) -> None:
    fd = frontdesk
    bad = fd.home.parent / "bad.yaml"
    for text, expected in (("client: [unclosed\n", "bad.yaml:"), ("- a list\n", "mapping"),
                           ("", "mapping")):
        bad.write_text(text, "utf-8")
        result = fd.run("start", "rt-intake", "--input", str(bad))
        assert result.returncode == 2 and expected in result.stderr, (text, result.stderr)
    missing = fd.run("start", "rt-intake", "--input", str(fd.home.parent / "nope.yaml"))
    assert missing.returncode == 2 and "nope.yaml" in missing.stderr


def test_fire_all_gives_the_same_values_to_every_instance(frontdesk: Frontdesk) -> None:
    fd = frontdesk
    ids = [fd.ok("start", "rt-intake", "--set", f"client=C{n}").strip() for n in range(3)]
    result = fd.json("fire", "--all", "rt-intake", "schedule", "--set", "visit_on=2026-01-12")
    assert sorted(result["fired"]) == sorted(ids)
    states = {row[0] for row in fd.query("SELECT state FROM instances")}
    assert states == {"scheduled"}
