"""The child process of :class:`~composer_app.bench.jack_rig.rig_process.RigProcess`: see its :func:`serve`."""

import sys

from composer_app.bench.jack_rig.rig_process import serve

sys.exit(serve(sys.argv[1:]))
