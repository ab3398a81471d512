"""``python -m composer_app``: ``setup``, ``run`` and ``test`` are the two commands for systems without make
(:mod:`composer_app.two_commands`, standard library only, so they work before the virtual environment exists);
anything else is the ``everybody-compose`` command line."""

import sys

if __name__ == "__main__":
    if sys.argv[1:2] and sys.argv[1] in ("setup", "run", "test"):
        from composer_app.two_commands import main as two_commands

        sys.exit(two_commands(sys.argv[1:]))
    from composer_app.cli import main

    sys.exit(main())
