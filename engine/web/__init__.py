"""The staff web board (``frontdesk serve``): the practice's lists, forms and buttons in a
browser, over the same engine, store and practice as the CLI.

``app`` builds the Flask application; ``server`` serves it with cheroot (TLS when given a
certificate); ``sessions`` keeps who is logged in, their CSRF token and when they were last
seen; ``passwords`` hashes with Argon2 and applies the lockout; ``forms`` turns field specs
into form controls and form data back into values; ``views_*`` are the pages. Nothing here
decides what may happen to an instance: every change goes through ``service.Engine``, which
refuses what the CLI refuses, with the same words.
"""
