"""frontdesk: YAML playbooks for a practice's office routines, run by a state-machine engine."""

__version__ = "0.1.0"
