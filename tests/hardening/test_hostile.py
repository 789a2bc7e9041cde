"""Hostile playbooks: templates and guards that try to escape the sandbox or
exhaust the machine are refused at validation (exit 3, a located error) or at run time (exit 5
naming the instance and the event), within bounded time and memory.

Each case runs the real ``frontdesk`` under ``RLIMIT_AS`` (512 MiB) and ``RLIMIT_CPU`` (30 s):
a case that escaped the limits would be killed or crash with a MemoryError, and fail. No case
may reveal a secret put in the environment or in a file of the home, a refused ``fire`` leaves
the store byte-for-byte as it was, and no refusal is a MemoryError or an internal error.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from frontdesk import limits
from frontdesk.service import Engine
from frontdesk.settings import Options
from hardening_support import LOCATED, clean_stderr_problems, run_limited, store_dump

if TYPE_CHECKING:
    from frontdesk_testing import Figures, Frontdesk

# Where the hostile text goes in the playbook below.
PLACEMENTS = {
    "when": "        when: {text}\n",
    "set": "        set: {{x: {text}}}\n",
    "note": "        note: {text}\n",
    "message": "        do:\n          - message: {{to: clerk, subject: s, body: {text}}}\n",
    "title": "",  # a task title in state b
    "due": "",  # a task's due duration in state b
    "subject": "",  # the instance's subject: refused at start
}
PLAYBOOK = """\
playbook: {id}
version: 1
title: Hostile
{subject}roles: [clerk]
inputs:
  client: {{type: string, required: true}}
initial: a
states:
  a:
    on:
      go:
        to: b
{transition}  b:
{tasks}    on:
      stop: {{to: end}}
  end:
    final: true
"""

DEEP_PARENS = "(" * 300 + "1" + ")" * 300
DEEP_LIST = "[" * 80 + "1" + "]" * 80
DEEP_OR = " or ".join(["client"] * 200)
DEEP_NOT = "not " * 200 + "true"


@dataclass(frozen=True)
class Case:
    placement: str
    text: str
    stage: str  # "validate": exit 3 located; "start" or "fire": exit 5 at that command


def template(expression: str) -> str:
    return "{{ " + expression + " }}"


CASES = {
    # Python internals
    "str-class-mro": Case("when", "''.__class__.__mro__", "fire"),
    "str-class-mro-template": Case("set", template("''.__class__.__mro__[1].__subclasses__()"),
                                   "fire"),
    "cycler-globals": Case("set", template("cycler.__init__.__globals__"), "validate"),
    "template-reference-context": Case("set", template("self._TemplateReference__context"),
                                       "fire"),
    "self-object": Case("set", template("self"), "fire"),
    "attr-filter-class": Case("set", template("client|attr('__class__')"), "fire"),
    "format-attribute-walk": Case(
        "set", template("'{0.__class__.__init__.__globals__}'.format(client)"), "fire"),
    "function-globals": Case("set", template("done.__globals__"), "fire"),
    "function-closure": Case("title", template("add_duration.__closure__"), "fire"),
    "date-subclasses": Case("note", template("now.__class__.__base__.__subclasses__()"),
                            "fire"),
    "int-subclasses": Case("when", "(1).__class__.__base__.__subclasses__()", "fire"),
    "loop-internals": Case("title", "{% for x in [1] %}{{ loop._iterator }}{% endfor %}",
                           "fire"),
    # files, environment, other instances
    "include-file": Case("title", "{% include 'secret.txt' %}", "validate"),
    "import-module": Case("set", "{% import 'os' as os %}{{ os.environ }}", "validate"),
    "extends-file": Case("message", "{% extends 'secret.txt' %}", "validate"),
    "os-environ": Case("set", template("os.environ"), "validate"),
    "lipsum-globals": Case("set", template("lipsum.__globals__['os'].environ"), "validate"),
    "namespace-object": Case("set", template("namespace()"), "validate"),
    "settings-mutation": Case("set", template("settings.update({'x': 1})"), "validate"),
    "instance-dict-mutation": Case("when", "instance.update({'id': 'other'})", "fire"),
    # resource exhaustion
    "range-huge": Case("set", template("range(10**9)|length"), "fire"),
    "string-repeat": Case("set", template("'a' * 10**9"), "fire"),
    "list-repeat": Case("when", "[client] * 10**8", "fire"),
    "power-tower": Case("set", template("((9**100)**100)**100"), "fire"),
    "big-int-product": Case("set", template("*".join(["(7**100)"] * 16)), "fire"),
    "percent-width": Case("message", template("'%0999999999d' % 1"), "fire"),
    "percent-star-width": Case("set", template("'%*d' % (99999999, 1)"), "fire"),
    "format-width": Case("set", template("'{:>999999999}'.format(client)"), "fire"),
    "format-nested-width": Case("note", template("'{:{w}}'.format(client, w=99999)"), "fire"),
    "format-many-fields": Case("set", template("('{0}' * 20000).format('x' * 50000)"), "fire"),
    "center-method": Case("title", template("client.center(10**9)"), "fire"),
    "center-filter": Case("title", template("client|center(10**9)"), "fire"),
    "join-separator": Case("set", template("range(10000)|join('x' * 100000)"), "fire"),
    "replace-bomb": Case("set", template("('ab' * 40000).replace('', 'x' * 1000)"), "fire"),
    "expandtabs-bomb": Case("set", template("('\\t' * 50000).expandtabs(100000)"), "fire"),
    "indent-bomb": Case("set", template("('\\n' * 50000)|indent(50000)"), "fire"),
    "wordwrap-bomb": Case("set", template("('a ' * 40000)|wordwrap(1, wrapstring='x' * 50000)"),
                          "fire"),
    "batch-fill": Case("set", template("[client]|batch(100000, 'x' * 1000)|list"), "fire"),
    "concat-doubling": Case("title",
                            "{% set s = 'a' * 60000 %}{{ s ~ s ~ s ~ s }}", "fire"),
    "list-extend-doubling": Case(
        "set", "{% set l = [1] %}{% for i in range(60) %}{{ l.extend(l) }}{% endfor %}",
        "fire"),
    "nested-loops": Case(
        "set", "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
        "fire"),
    "output-flood": Case("message", "{% for i in range(10000) %}{{ 'x' * 100 }}{% endfor %}",
                         "fire"),
    "string-translate": Case("set", template("client.translate({122: 'x' * 100000})"), "fire"),
    "macro-recursion": Case("set", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
                            "validate"),
    "recursive-loop": Case("title",
                           "{% for x in [[1]] recursive %}{{ loop(x * 2) }}{% endfor %}",
                           "validate"),
    "block-set-flood": Case(
        "set", "{% set s %}{% for i in range(10000) %}{{ 'x' * 10000 }}{% endfor %}{% endset %}",
        "validate"),
    "deep-parentheses": Case("set", template(DEEP_PARENS), "validate"),
    "deep-list": Case("when", DEEP_LIST, "validate"),
    "deep-or-chain": Case("when", DEEP_OR, "validate"),
    "deep-not-chain": Case("set", template(DEEP_NOT), "validate"),
    "markup-filter": Case("set", template("client|tojson"), "validate"),
    "duration-overflow": Case("due", template("10**9") + " days", "fire"),
    "subject-escape": Case("subject", "Claim " + template("client.__class__.__mro__"),
                           "start"),
}


def playbook_id(name: str) -> str:
    return f"hostile-{name}"


def playbook_text(name: str, case: Case) -> str:
    text = json.dumps(case.text)  # a JSON string is a valid YAML 1.2 double-quoted scalar
    transition = ""
    if case.placement in ("when", "set", "note", "message"):
        transition = PLACEMENTS[case.placement].format(text=text)
    tasks = ""
    if case.placement == "title":
        tasks = f"    tasks:\n      - {{id: t1, title: {text}, role: clerk}}\n"
    elif case.placement == "due":
        tasks = f"    tasks:\n      - {{id: t1, title: T, role: clerk, due: {text}}}\n"
    subject = f"subject: {text}\n" if case.placement == "subject" else ""
    return PLAYBOOK.format(id=playbook_id(name), subject=subject, transition=transition,
                           tasks=tasks)


SECRET_FILE = f"canary-file-{uuid.uuid4().hex}"
SECRET_ENV = f"canary-env-{uuid.uuid4().hex}"
SECRET = {"FRONTDESK_TEST_SECRET": SECRET_ENV}


@dataclass
class World:
    fd: Frontdesk
    validated: dict[str, tuple[int, str, str]]  # "validate"/"runtime" -> one validate run


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory,
          make_frontdesk: Callable[..., Frontdesk]) -> World:
    """A home holding a secret file and one playbook file per case; the cases refused at
    validation are validated in one ``frontdesk validate`` run, the others in another (which
    must pass), to keep the test fast."""
    fd = make_frontdesk(tmp_path_factory.mktemp("hostile"))
    for path in fd.playbooks.iterdir():
        path.unlink()
    (fd.home / "secret.txt").write_text(SECRET_FILE, "utf-8")
    runtime = fd.playbooks
    rejected = fd.home.parent / "rejected"
    rejected.mkdir()
    for name, case in CASES.items():
        folder = rejected if case.stage == "validate" else runtime
        (folder / f"{name}.yaml").write_text(playbook_text(name, case), "utf-8")
    validated = {}
    for kind, folder in (("validate", rejected), ("runtime", runtime)):
        result = run_limited(fd, "validate", *sorted(str(p) for p in folder.iterdir()),
                             env=SECRET)
        validated[kind] = (result.returncode, result.stdout, result.stderr)
    return World(fd, validated)


def store_bytes(db: Path) -> bytes:
    if not db.exists():
        return b""
    return b"".join(p.read_bytes() for p in sorted(db.parent.glob(db.name + "*")))


def check_output(code: int, stdout: str, stderr: str) -> None:
    assert not clean_stderr_problems(stderr, code), stderr
    assert "MemoryError" not in stderr and "internal error" not in stderr, stderr
    assert SECRET_FILE not in stdout + stderr and SECRET_ENV not in stdout + stderr


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_playbook_is_refused(name: str, world: World, figures: Figures) -> None:
    """The case is refused at its stage with a clean, located error; nothing leaks or runs
    away; a refused ``fire`` writes nothing."""
    case = CASES[name]
    fd = world.fd
    if case.stage == "validate":
        code, stdout, stderr = world.validated["validate"]
        check_output(code, stdout, stderr)
        assert code == 3, (stdout, stderr)
        mine = [line for line in (stdout + stderr).splitlines()
                if f"{name}.yaml:" in line and LOCATED.match(line)]
        assert mine, stdout + stderr
        assert any(" error[" in line for line in mine), mine
        reason = mine[0].split(": ", 1)[1]
    else:
        code, stdout, stderr = world.validated["runtime"]
        check_output(code, stdout, stderr)
        assert code == 0, (stdout, stderr)
        if case.stage == "start":
            result = run_limited(fd, "start", playbook_id(name), "--set", "client=Zed",
                                 env=SECRET)
            check_output(result.returncode, result.stdout, result.stderr)
            assert result.returncode == 5, result.stderr
            assert result.stderr.startswith("frontdesk: error: instance '"), result.stderr
            reason = result.stderr.split(": ", 3)[-1].strip()
        else:
            engine = Engine(Options(playbooks=(str(fd.playbooks),), env=fd.env()))
            try:  # started in-process: the hostile part is the fire, run below as a process
                instance = engine.start(playbook_id(name), {"client": "Zed"}, fd.user).id
            finally:
                engine.close()
            before = store_dump(fd.db)
            result = run_limited(fd, "fire", instance, "go", env=SECRET)
            check_output(result.returncode, result.stdout, result.stderr)
            assert result.returncode == 5, (result.stdout, result.stderr)
            assert result.stderr.startswith(
                f"frontdesk: error: instance '{instance}', event 'go': "), result.stderr
            assert store_dump(fd.db) == before
            reason = result.stderr.split("'go': ", 1)[1].strip()
    stored = store_bytes(fd.db)
    assert SECRET_FILE.encode() not in stored and SECRET_ENV.encode() not in stored
    figures.add("hostile", f"{name}: refused at {case.stage}: {reason[:110]}")


def test_there_are_at_least_twenty_hostile_cases(figures: Figures) -> None:
    """The corpus keeps at least twenty hostile cases, refused at each stage."""
    assert len(CASES) >= 20
    stages = {stage: sum(c.stage == stage for c in CASES.values())
              for stage in ("validate", "start", "fire")}
    figures.add("hostile", f"{len(CASES)} cases: " + ", ".join(
        f"{count} refused at {stage}" for stage, count in stages.items())
        + f" (limits: {limits.MAX_SEQUENCE} items, {limits.MAX_WORK} work units, "
        f"{limits.MAX_RENDERED} rendered characters)")
