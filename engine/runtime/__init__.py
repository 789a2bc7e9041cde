"""Running playbooks: machine, expressions and templates, durations and calendar, clock."""
