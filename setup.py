"""Build step: a wheel carries the shipped models and assets inside the package.

``checkpoints/`` and ``assets/`` stay at the repository's top level (training writes there, the README points
there); building a wheel copies them to ``composer_app/_bundled/`` so the installed app finds them
(:mod:`composer_app.resources`). Everything else about the package is in ``pyproject.toml``.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: folder -> the files of it that ship (glob patterns relative to the folder): the models with their cards, and
#: every asset
BUNDLED = {"checkpoints": ("*.pt", "*.md"), "assets": ("**/*",)}


def bundled_files():
    """``(source, path inside the package)`` of every shipped model and asset file."""
    for folder, patterns in BUNDLED.items():
        for pattern in patterns:
            for src in sorted((ROOT / folder).glob(pattern)):
                if src.is_file():
                    yield src, Path("composer_app", "_bundled", folder, src.relative_to(ROOT / folder))


class BuildPyWithBundled(build_py):
    """``build_py`` that also copies :data:`BUNDLED` into the built package."""

    def run(self):
        super().run()
        for src, rel in bundled_files():
            dest = Path(self.build_lib) / rel
            self.mkpath(str(dest.parent))
            self.copy_file(str(src), str(dest))

    def get_outputs(self, include_bytecode=True):
        return [*super().get_outputs(include_bytecode), *(str(Path(self.build_lib) / rel) for _, rel in bundled_files())]


setup(cmdclass={"build_py": BuildPyWithBundled})
