"""One module per command (or family of commands). Each ``run_*`` function takes the engine
(commands on a practice's instances) or the options (commands on files or on the store itself)
and keyword arguments, prints, and returns the exit code; failures are raised as
``errors.FrontdeskError``s for ``cli.main`` to report."""
