"""The examples of docs/daily-use.md, docs/packs.md and docs/tailoring.md, run as written.

A block is marked in the Markdown by a comment on the line before it, ``<!-- example: NAME -->``
for an input and ``<!-- output: NAME -->`` for what frontdesk prints (the same convention as
``<!-- example: playbook -->`` in docs/authoring.md, checked by test_shipped.py). The unmarked
``sh`` blocks of docs/daily-use.md are the office's everyday commands, each run as written.

The set-up examples of docs/daily-use.md (``init``, cron, systemd units, backups) are written
for Maria, whose home folder is ``/home/maria`` and who installed frontdesk with ``pipx``
(``/home/maria/.local/bin/frontdesk``). ``Account`` plays her in a temporary folder: the same
layout, the console script where pipx puts it, and the bare environment cron and systemd give.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from frontdesk_testing import CliResult, frontdesk_argv, run_main

REPO = Path(__file__).resolve().parents[1]


def block(doc: str, kind: str, name: str) -> str:
    """The fenced block marked ``<!-- kind: name -->`` in ``docs/<doc>``."""
    text = (REPO / "docs" / doc).read_text("utf-8")
    (found,) = re.findall(rf"<!-- {kind}: {re.escape(name)} -->\n```[a-z]*\n(.*?)```", text,
                          re.S)
    return str(found)


def guide_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env.update(FRONTDESK_HOME=str(home), FRONTDESK_NOW="2026-01-05T09:00",
               FRONTDESK_USER="maria")
    return env


def frontdesk(*args: str, cwd: Path, home: Path) -> CliResult:
    """``frontdesk ARGS`` in this process (``run_main``), as the guide's reader runs it."""
    return run_main(args, guide_env(home), cwd=cwd)


def frontdesk_process(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """``frontdesk ARGS`` as the installed command: ``pack test`` imports the pack, and a
    module imported once stays imported in a process, so pack commands each get their own."""
    return subprocess.run([*frontdesk_argv(), *args], cwd=cwd, env=guide_env(home),
                          capture_output=True, text=True, timeout=120, check=False)


def test_tailoring_example_validates_runs_and_shows(tmp_path: Path) -> None:
    """The example practice.yaml validates, changes the corrected-claim task as the guide says,
    and ``show-playbook --effective`` prints the excerpts shown in the guide."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "practice.yaml").write_text(block("tailoring.md", "example", "practice"), "utf-8")
    checked = frontdesk("validate", cwd=tmp_path, home=home)
    assert checked.returncode == 0, checked.stdout
    started = frontdesk("start", "claim-denial", "--set", "claim_id=C-1001",
                        "--set", "payer_type=commercial", "--set", "group=CO", "--set", "carc=16",
                        "--set", "amount=120", "--set", "denied_on=2026-01-05",
                        "--set", "service_date=2025-12-20", "--json", cwd=tmp_path, home=home)
    assert started.returncode == 0, started.stderr
    instance = json.loads(started.stdout)
    assert instance["vars"]["appeal_deadline"] == "2026-04-05"  # 90 days, not 180
    assert [(t["title"], t["role"], t["due"]) for t in instance["tasks"]] == [
        ("Fix and resubmit claim C-1001", "billing", "2026-01-07")]
    shown = frontdesk("show-playbook", "claim-denial", "--effective", cwd=tmp_path, home=home)
    assert shown.returncode == 0
    for name in ("effective", "disabled"):
        assert block("tailoring.md", "output", name) in shown.stdout, name


def test_tailoring_mistakes_are_reported_as_the_guide_says(tmp_path: Path) -> None:
    """The guide's broken practice.yaml gives exactly the guide's ``validate`` output, exit 3."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "practice.yaml").write_text(block("tailoring.md", "example", "bad-practice"),
                                        "utf-8")
    result = frontdesk("validate", "practice.yaml", cwd=home, home=home)
    assert result.returncode == 3
    assert result.stdout == block("tailoring.md", "output", "validate")


def test_pack_guide_sequence_runs_as_written(tmp_path: Path) -> None:
    """``pack new`` / ``cd`` / ``pack test`` from docs/packs.md print the guide's output, and the
    pyproject excerpt is what ``pack new`` wrote."""
    cwd = tmp_path
    output = ""
    for line in block("packs.md", "example", "pack-new").splitlines():
        args = shlex.split(line)
        if args[0] == "cd":
            cwd = cwd / args[1]
            continue
        result = frontdesk_process(*args[1:], cwd=cwd, home=tmp_path / "home")
        assert result.returncode == 0, result.stdout + result.stderr
        output = result.stdout
    assert output == block("packs.md", "output", "pack-test")
    pyproject = (cwd / "pyproject.toml").read_text("utf-8")
    assert block("packs.md", "example", "pyproject") in pyproject



# -- docs/daily-use.md: the everyday commands ------------------------------------------------------
def unmarked_blocks(doc: str, language: str) -> list[str]:
    """The fenced ``language`` blocks of ``docs/<doc>`` that carry no marker comment."""
    text = (REPO / "docs" / doc).read_text("utf-8")
    return re.findall(rf"(?<!-->\n)```{language}\n(.*?)```", text, re.S)


def test_daily_use_commands_run(tmp_path: Path) -> None:
    """The everyday commands shown in docs/daily-use.md run as written against a real store."""
    home = tmp_path / "home"
    env = {**guide_env(home), "FRONTDESK_NOW": "2026-11-02T09:00"}
    commands = [" ".join(line.split("#")[0].strip() for line in cmd.split("\\\n"))
                for block in unmarked_blocks("daily-use.md", "sh")
                for cmd in re.split(r"\n(?=frontdesk )", block.strip())]
    started = run_main(["start", "claim-denial", "--set", "claim_id=C-1001", "--set",
                        "payer_type=commercial", "--set", "group=CO", "--set", "carc=16",
                        "--set", "amount=120", "--set", "denied_on=2026-10-30", "--set",
                        "service_date=2026-10-01"], env, cwd=tmp_path)
    instance = started.stdout.strip()
    ran = 0
    for command in commands:
        args = shlex.split(command.replace("4e9e5d62e3", instance))
        assert args[0] == "frontdesk", command
        if args[1] in ("done", "fire") or "--anchor" in args:
            continue  # task ids and hashes differ per run; exercised in the e2e tests
        if ">" in args:
            args = args[: args.index(">")]
        result = run_main(args[1:], env, cwd=tmp_path)
        assert result.returncode == 0, (command, result.stderr)
        assert "Traceback" not in result.stderr
        ran += 1
    assert ran >= 10


# -- docs/daily-use.md: setting up, timers, backups ------------------------------------------------
GUIDE_HOME = "/home/maria"  # the guide's person's home folder
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d ")  # a tick line's time
CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,\d+(-\d+)?(/\d+)?)*$")

needs_linux = pytest.mark.skipif(sys.platform != "linux",
                                 reason="the guide's paths are Linux's (platformdirs, systemd)")


@dataclass(frozen=True)
class Account:
    """Maria's account, played in a temporary folder: ``home`` stands for ``/home/maria``, the
    console script is where ``pipx install .`` puts it, and ``env`` is the bare environment cron
    gives a command (no ``$FRONTDESK_*``, no ``$XDG_*``), with ``~/.local/bin`` on PATH as a
    login shell would have it."""

    home: Path
    pycache: Path  # where its commands cache bytecode (outside the repository), for speed

    @classmethod
    def create(cls, where: Path, pycache: Path) -> Account:
        home = where / "maria"
        script = home / ".local" / "bin" / "frontdesk"
        script.parent.mkdir(parents=True)
        # what pip writes for a console script: this interpreter, which imports frontdesk
        script.write_text(f"#!{sys.executable}\nimport sys\nfrom frontdesk.cli import main\n"
                          "sys.exit(main())\n", "utf-8")
        script.chmod(0o755)
        return cls(home, pycache)

    @property
    def data_home(self) -> Path:
        """The home ``init`` makes without --home or $FRONTDESK_HOME (platformdirs, Linux)."""
        return self.home / ".local" / "share" / "frontdesk"

    def env(self, **extra: str) -> dict[str, str]:
        return {"HOME": str(self.home), "LOGNAME": "maria", "SHELL": "/bin/sh", "LANG": "C.UTF-8",
                "PATH": f"{self.home / '.local' / 'bin'}:/usr/bin:/bin",
                "PYTHONPYCACHEPREFIX": str(self.pycache), **extra}

    def here(self, text: str) -> str:
        """A guide's text with Maria's home folder replaced by this account's."""
        return text.replace(GUIDE_HOME, str(self.home))

    def as_guide(self, text: str) -> str:
        """This account's output as the guide shows it (Maria's home folder)."""
        return text.replace(str(self.home), GUIDE_HOME)

    def sh(self, script: str, **extra: str) -> subprocess.CompletedProcess[str]:
        """A guide's shell lines run with ``sh -e`` in this account's environment."""
        return subprocess.run(["/bin/sh", "-ec", self.here(script)], env=self.env(**extra),
                              cwd=self.home, capture_output=True, text=True, timeout=120,
                              check=False)

    def frontdesk(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["frontdesk", *args], env=self.env(), cwd=self.home,
                              capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="session")
def pycache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bytecode cache for the commands of every ``Account`` (one per xdist worker)."""
    return tmp_path_factory.mktemp("pycache")


@pytest.fixture
def maria(tmp_path: Path, pycache: Path) -> Account:
    """Maria's account after the guide's ``frontdesk init`` (asserted in its own test)."""
    account = Account.create(tmp_path, pycache)
    assert account.sh(block("daily-use.md", "example", "init")).returncode == 0
    return account


def cron_lines(name: str) -> list[tuple[list[str], str]]:
    """The schedule fields and command of each line of a cron block, the fields checked."""
    lines = []
    for line in block("daily-use.md", "example", name).splitlines():
        *fields, command = line.split(None, 5)
        assert len(fields) == 5 and all(CRON_FIELD.match(f) for f in fields), line
        lines.append((fields, command))
    return lines


def run_cron(account: Account, command: str) -> subprocess.CompletedProcess[str]:
    """A crontab command as cron runs it: ``\\%`` made ``%``, then ``sh -c`` in cron's bare
    environment (HOME, LOGNAME, SHELL and a short PATH only)."""
    return subprocess.run(["/bin/sh", "-c", account.here(command).replace("\\%", "%")],
                          env={**account.env(), "PATH": "/usr/bin:/bin"}, cwd=account.home,
                          capture_output=True, text=True, timeout=120, check=False)


@needs_linux
def test_init_prints_the_next_steps_of_the_guide(tmp_path: Path, pycache: Path) -> None:
    """``frontdesk init`` without --home or $FRONTDESK_HOME makes the platform's data folder
    the home and prints exactly the guide's next steps, with that home's paths and the full
    path of the console script; the home holds practice.yaml and the store."""
    account = Account.create(tmp_path, pycache)
    result = account.sh(block("daily-use.md", "example", "init"))
    assert result.returncode == 0, result.stderr
    assert account.as_guide(result.stderr + result.stdout) == \
        block("daily-use.md", "output", "init")
    assert result.stdout == f"{account.data_home}\n"
    assert (account.data_home / "practice.yaml").is_file()
    assert (account.data_home / "frontdesk.db").is_file()
    again = account.sh(block("daily-use.md", "example", "init"))
    assert again.returncode == 0 and again.stderr.startswith(
        f"kept existing {account.data_home / 'practice.yaml'}\n")


@needs_linux
def test_cron_lines_tick_the_home_init_made(maria: Account) -> None:
    """The guide's cron line is the one ``init`` printed, and every cron line of the guide
    runs ``tick`` on that home in cron's bare environment, appending timestamped lines to the
    log; a mistyped home fails loudly (exit 8) rather than ticking an empty store."""
    printed = maria.sh(block("daily-use.md", "example", "init")).stderr
    (init_line,) = [line.strip() for line in printed.splitlines() if "tick >>" in line]
    assert [" ".join([*f, c]) for f, c in cron_lines("cron")] == [maria.as_guide(init_line)]
    log = maria.data_home / "tick.log"
    for _, command in cron_lines("cron") + cron_lines("cron-office-hours"):
        ran = run_cron(maria, command)
        assert ran.returncode == 0, ran.stderr + log.read_text("utf-8")
    lines = log.read_text("utf-8").splitlines()
    assert len(lines) == 3 and all(STAMP.match(line) for line in lines), lines
    assert lines[0].endswith(" tick: 0 timer(s) fired")
    mistyped = run_cron(maria, cron_lines("cron")[0][1].replace("share/frontdesk ", "share/fd "))
    assert mistyped.returncode == 8 and "frontdesk init" in log.read_text("utf-8")
    assert not (maria.home / ".local" / "share" / "fd").exists()


def unit_file(name: str) -> tuple[str, dict[str, dict[str, list[str]]]]:
    """A guide's systemd unit block: the path in its first comment line, and its settings
    (section -> key -> values, in order: a key such as Environment may repeat)."""
    text = block("daily-use.md", "example", name)
    first, *lines = text.splitlines()
    assert first.startswith("# "), first
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in lines:
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif line.strip():
            key, _, value = line.partition("=")
            current.setdefault(key, []).append(value)
    return first[2:], sections


@needs_linux
@pytest.mark.parametrize("kind", ["user", "system"])
def test_systemd_units_run_tick_on_the_home_init_made(maria: Account, tmp_path: Path,
                                                      kind: str) -> None:
    """The guide's units: a oneshot service whose ExecStart (with its Environment) runs
    ``tick`` on the home ``init`` made, with the script where pipx put it, and a persistent
    15-minute timer of the same name; ``systemd-analyze verify`` accepts both, where present.
    The user units use ``%h``; the system ones name Maria's folders and run as her."""
    service_path, service = unit_file(f"{kind}-service")
    timer_path, timer = unit_file(f"{kind}-timer")
    folder = "~/.config/systemd/user/" if kind == "user" else "/etc/systemd/system/"
    assert service_path == folder + "frontdesk-tick.service"
    assert timer_path == folder + "frontdesk-tick.timer"
    assert service["Service"]["Type"] == ["oneshot"]
    assert service["Service"].get("User") == (["maria"] if kind == "system" else None)
    assert timer["Timer"] == {"OnCalendar": ["*:0/15"], "Persistent": ["true"]}
    assert timer["Install"] == {"WantedBy": ["timers.target"]}

    def expand(value: str) -> str:  # systemd's %h is the home folder of the unit's user
        return maria.here(value.replace("%h", GUIDE_HOME))

    environment = dict(expand(v).split("=", 1) for v in service["Service"]["Environment"])
    assert environment == {"FRONTDESK_HOME": str(maria.data_home)}
    (exec_start,) = service["Service"]["ExecStart"]
    argv = shlex.split(expand(exec_start))
    assert argv == [str(maria.home / ".local" / "bin" / "frontdesk"), "tick"]
    ran = subprocess.run(argv, env={**maria.env(), "PATH": "/usr/bin:/bin", **environment},
                         capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    assert STAMP.match(ran.stderr) and ran.stderr.endswith(" tick: 0 timer(s) fired\n")
    enable = block("daily-use.md", "example", "user-enable")
    assert "enable --now frontdesk-tick.timer" in enable and "enable-linger maria" in enable
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return
    units = tmp_path / "units"
    units.mkdir()
    for path, name in ((service_path, f"{kind}-service"), (timer_path, f"{kind}-timer")):
        text = expand(block("daily-use.md", "example", name))
        (units / Path(path).name).write_text(text.replace("User=maria\n", ""), "utf-8")
    verified = subprocess.run([analyze, "verify", "--man=no", str(units / "frontdesk-tick.service"),
                               str(units / "frontdesk-tick.timer")],
                              capture_output=True, text=True, timeout=60, check=False)
    assert verified.returncode == 0 and verified.stderr == "", verified.stderr


def listed(account: Account, *options: str) -> list[dict[str, object]]:
    result = account.frontdesk(*options, "list", "--json")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


@needs_linux
def test_backup_examples_and_restore_run_as_written(maria: Account) -> None:
    """Every way the guide backs up the store makes a copy that ``audit verify`` proves and
    that lists the same instances; the nightly cron line does too; the guide's restore into a
    new home verifies and lists what the practice had."""
    for name in ("Ann Example", "Bob Example"):
        assert maria.frontdesk("start", "intake", "--set", f"client_name={name}").returncode == 0
    instances = listed(maria)
    records = maria.frontdesk("audit", "head").stdout.split()[0]
    backups = maria.home / "backups"

    made = maria.sh(block("daily-use.md", "example", "backup"))
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[-1].startswith(
        f"audit verify ok on the backup: {records} records, last seq {records}, head ")
    assert (backups / "practice.yaml").read_bytes() == \
        (maria.data_home / "practice.yaml").read_bytes()
    copies = ["frontdesk-2026-01-05.db", "frontdesk-copy.db"]
    ways = block("daily-use.md", "example", "backup-sqlite3")
    if shutil.which("sqlite3") is None:
        ways = "\n".join(line for line in ways.splitlines() if not line.startswith("sqlite3 "))
    else:
        copies.append("frontdesk-sqlite3.db")
    assert maria.sh(ways).returncode == 0
    script = maria.here(block("daily-use.md", "example", "backup-python"))
    assert subprocess.run([sys.executable, "-c", script], timeout=60).returncode == 0
    copies.append("frontdesk-python.db")
    ((_, nightly),) = cron_lines("cron-backup")
    assert run_cron(maria, nightly).returncode == 0
    (dated,) = [p.name for p in backups.glob("frontdesk-20*.db")
                if p.name != "frontdesk-2026-01-05.db"]
    copies.append(dated)
    for name in copies:
        url = f"sqlite:///{backups / name}"
        assert maria.frontdesk("--db", url, "audit", "verify").returncode == 0, name
        assert listed(maria, "--db", url) == instances, name

    restored = maria.sh(block("daily-use.md", "example", "restore"))
    assert restored.returncode == 0, restored.stderr
    assert f"audit log ok: {records} records" in restored.stdout
    assert listed(maria, "--home", str(maria.home / "restored")) == instances
    with closing(sqlite3.connect(backups / "frontdesk-2026-01-05.db")) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)


def test_tick_log_example_has_the_shape_tick_prints(tmp_path: Path) -> None:
    """The guide's tick log lines have the shape ``tick`` prints: the practice-local time with
    its offset, then what happened."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "practice.yaml").write_text("timezone: America/New_York\n", "utf-8")
    env = {**guide_env(home), "FRONTDESK_NOW": "2026-01-08T09:00"}
    ticked = run_main(["tick"], env, cwd=tmp_path)
    assert ticked.returncode == 8  # no store yet: tick never creates one
    assert run_main(["init"], env, cwd=tmp_path).returncode == 0
    ticked = run_main(["tick"], env, cwd=tmp_path)
    assert ticked.stderr == "2026-01-08T09:00:00-05:00 tick: 0 timer(s) fired\n"
    for line in block("daily-use.md", "output", "tick").splitlines():
        assert STAMP.match(line) and line[:26].endswith("-05:00 "), line


def test_pack_practice_example_is_a_valid_practice(tmp_path: Path) -> None:
    """The pack's ``scenarios/practice.yaml`` of docs/packs.md is a valid practice config."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "practice.yaml").write_text(block("packs.md", "example", "pack-practice"), "utf-8")
    result = frontdesk("validate", "practice.yaml", cwd=home, home=home)
    assert result.returncode == 0, result.stdout + result.stderr
