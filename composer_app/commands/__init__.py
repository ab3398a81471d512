"""Subcommands of ``everybody-compose``; each module is discovered by :mod:`composer_app.cli`."""
