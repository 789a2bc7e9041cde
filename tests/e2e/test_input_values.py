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


def test_every_problem_with_the_values_is_reported_at_once(frontdesk: Frontdesk) -> None:
    """``start``, ``fire`` and ``done`` with several bad or missing values: one block, a line
    per problem, exit 5, nothing written."""
    fd = frontdesk
    started = fd.json("start", "rt-intake", "--set", "client=Ann")
    head = fd.ok("audit", "head")
    result = fd.run("start", "rt-intake", "--set", "visits=0", "--set", "referred_on=2026-02-30",
                    "--set", "colour=red")
    assert result.returncode == 5
    lines = result.stderr.splitlines()
    assert lines[:6] == [
        "frontdesk: error:",
        "  start 'rt-intake': 4 problems with the values given:",
        "    playbook 'rt-intake' has no input 'colour' (inputs: client, referred_on, visits)",
        "    missing required field 'client'",
        "    field 'visits': expected at least 1",
        "    field 'referred_on': expected a date YYYY-MM-DD"], result.stderr
    fired = fd.run("fire", started["id"], "schedule", "--set", "visit_on=soon", "--set", "x=1")
    assert fired.returncode == 5 and "2 problems with the values given" in fired.stderr
    assert "event 'schedule' has no field 'x'" in fired.stderr
    assert "field 'visit_on': expected a date" in fired.stderr
    call = next(t["id"] for t in started["tasks"] if t["task"] == "call_client")
    done = fd.run("done", call, "--set", "reached=perhaps", "--set", "mood=ok")
    assert done.returncode == 5 and "2 problems with the values given" in done.stderr
    assert "field 'reached'" in done.stderr and "no field 'mood'" in done.stderr
    assert fd.ok("audit", "head") == head
