"""The files ``frontdesk pack new NAME`` writes: a pack whose own scenarios pass at once.

``@NAME@`` is the pack (distribution) name and the sample playbook's id, ``@PACKAGE@`` the
import package (the name with ``_`` for ``-``). The sample playbook is the records request
of docs/authoring.md, small but with settings, two roles, a timer and a message, so a practice
has something of each kind to tailor.
"""

from __future__ import annotations

PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.18"]
build-backend = "hatchling.build"

[project]
name = "@NAME@"
version = "0.1.0"
description = "frontdesk playbooks: @NAME@"
readme = "README.md"
requires-python = ">=3.11"
# No dependencies: frontdesk finds this pack through the entry point below; install the pack
# into the environment where frontdesk is installed.
dependencies = []

# frontdesk reads the playbooks (*.yaml) of the package folder this entry point names.
[project.entry-points."frontdesk.playbooks"]
@NAME@ = "@PACKAGE@.playbooks"

[tool.hatch.build.targets.wheel]
packages = ["@PACKAGE@"]
"""

README = """\
# @NAME@

A frontdesk playbook pack: playbooks a practice installs with `pip` and tailors in its
`practice.yaml` without editing them.

```
@PACKAGE@/playbooks/            one playbook per *.yaml file (this folder is the entry point)
@PACKAGE@/playbooks/scenarios/  scenario tests of those playbooks (and, optionally, the
                                practice.yaml they run with: else every default)
```

## Work on it

```sh
frontdesk pack test                 # validate every playbook and run every scenario
pip install build                   # once: the build front end (it fetches hatchling)
python -m build --wheel             # dist/@PACKAGE@-0.1.0-py3-none-any.whl
pip install dist/@PACKAGE@-0.1.0-py3-none-any.whl
frontdesk playbooks                 # lists @NAME@ from "pack @NAME@ 0.1.0"
```

## Releasing a new version

Raise a playbook's `version:` whenever you change it, and the `version` in pyproject.toml for
every release. Running instances stay on the playbook version they started with; a practice
moves its open instances with `frontdesk upgrade PLAYBOOK --to VERSION --dry-run` (then
without `--dry-run`).

## What a practice may tailor

In its `practice.yaml`, per playbook: `settings` (any key under `settings:`), `roles` (your
role names to theirs), task `title` and `due` by task id, and `disabled_tasks`. Name every
number a practice may want to change as a setting, and keep task ids stable between versions.
"""

GITIGNORE = """\
__pycache__/
*.egg-info/
build/
dist/
"""

PACKAGE_INIT = '''\
"""@NAME@: a frontdesk playbook pack (the playbooks are in the ``playbooks`` folder)."""
'''

PLAYBOOKS_INIT = '''\
"""The playbooks of @NAME@: frontdesk reads every *.yaml file in this folder."""
'''

PLAYBOOK = """\
# yaml-language-server: $schema=https://frontdesk.dev/schemas/playbook.schema.json
playbook: @NAME@
version: 1
title: Patient records request
description: |
  A sample playbook of the @NAME@ pack: a patient asks for a copy of their records and
  HIPAA gives 30 days to answer (setting `answer_days`). Replace it with your own playbooks,
  one file per playbook in this folder, with their scenario tests in scenarios/.
subject: "Records for {{ patient }}"
roles: [front_desk, owner]
inputs:
  patient: {type: string, required: true}
  received_on: {type: date, required: true}
settings:
  answer_days: 30
  reminder_days: 5
initial: verify
states:
  verify:
    title: Verify identity and authority
    tasks:
      - id: verify_identity
        title: "Verify {{ patient }}'s identity"
        role: front_desk
        due: 2 business days
        checklist: [Photo ID checked, Authorization signed]
        done: verified
    on:
      verified:
        to: prepare
        set:
          answer_by: "{{ add_duration(received_on, settings.answer_days ~ ' days') }}"
  prepare:
    title: Send the records
    tasks:
      - id: send_records
        title: Send the records
        role: front_desk
        due: {before: 1 day, from: answer_by}
        done: sent
    timers:
      - {before: "{{ settings.reminder_days }} days", from: answer_by, event: remind}
    on:
      remind:
        do:
          - message: {to: owner, subject: "Records for {{ patient }} due {{ answer_by }}"}
      sent: {to: sent}
  sent:
    final: true
    outcome: sent
"""

SCENARIOS = """\
# Scenario tests of the @NAME@ playbook: `frontdesk pack test` runs every file in this folder.
playbook: @NAME@
name: records sent in time
start: {at: 2026-01-05T09:00, with: {patient: Ann Example, received_on: 2026-01-05}}
steps:
  - expect: {state: verify, open_tasks: [verify_identity],
             tasks: {verify_identity: {due: 2026-01-07, role: front_desk}}}
  - done: verify_identity
  - expect: {state: prepare, vars: {answer_by: 2026-02-04},
             tasks: {send_records: {due: 2026-02-03}}, timers: {remind: 2026-01-30}}
  - advance: {to: 2026-01-30T09:00}
  - expect: {outbox: 1}
  - done: send_records
  - expect: {state: sent, status: closed, outcome: sent}
---
playbook: @NAME@
name: a practice's tailoring is honoured
practice:
  playbooks:
    @NAME@:
      settings: {answer_days: 15}
      roles: {front_desk: reception}
      tasks: {verify_identity: {title: "Check the ID of {{ patient }}", due: 1 business day}}
start: {at: 2026-01-05T09:00, with: {patient: Ann Example, received_on: 2026-01-05}}
steps:
  - expect: {tasks: {verify_identity: {due: 2026-01-06, role: reception}}}
  - done: verify_identity
  - expect: {vars: {answer_by: 2026-01-20}}
---
playbook: @NAME@
name: records are not sent before the identity is verified
start: {at: 2026-01-05T09:00, with: {patient: Ann Example, received_on: 2026-01-05}}
steps:
  - refuse: {fire: sent}
  - expect: {state: verify}
"""


def files(name: str, package: str) -> dict[str, str]:
    """Relative path -> text of every file of a new pack."""
    layout = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        ".gitignore": GITIGNORE,
        f"{package}/__init__.py": PACKAGE_INIT,
        f"{package}/playbooks/__init__.py": PLAYBOOKS_INIT,
        f"{package}/playbooks/{name}.yaml": PLAYBOOK,
        f"{package}/playbooks/scenarios/{name}.yaml": SCENARIOS,
    }
    return {path: text.replace("@NAME@", name).replace("@PACKAGE@", package)
            for path, text in layout.items()}
