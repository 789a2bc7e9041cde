"""'start' actions are bounded in breadth as well as depth (10 levels): one command (a
``tick`` included) that would begin more instances than practice.yaml's
``limits.starts_per_command`` (default 200) is refused, nothing written."""

from __future__ import annotations

from frontdesk_testing import NY_PRACTICE, Frontdesk

LEAF = """\
playbook: leaf
version: 1
title: Started by another
roles: [staff]
initial: open
states:
  open:
    on:
      stop: {to: done}
  done:
    final: true
"""

FANOUT = """\
playbook: fanout
version: 1
title: Starts ten others
roles: [staff]
initial: spawn
states:
  spawn:
    enter:
{starts}
    on:
      stop: {{to: done}}
  done:
    final: true
"""


def test_a_wide_fan_out_is_refused_with_nothing_written(frontdesk: Frontdesk) -> None:
    fd = frontdesk
    starts = "\n".join("      - {start: leaf}" for _ in range(10))
    (fd.playbooks / "fanout.yaml").write_text(FANOUT.format(starts=starts), "utf-8")
    (fd.playbooks / "leaf.yaml").write_text(LEAF, "utf-8")
    (fd.home / "practice.yaml").write_text(NY_PRACTICE + "limits: {starts_per_command: 5}\n",
                                           "utf-8")
    fd.ok("db", "migrate")
    fd.ok("start", "leaf")  # a start of its own is fine
    head = fd.ok("audit", "head")
    result = fd.run("start", "fanout")
    assert result.returncode == 5, result.stderr
    assert "more than 5 instances" in result.stderr
    assert fd.ok("audit", "head") == head
    assert fd.query("SELECT count(*) FROM instances") == [(1,)]
