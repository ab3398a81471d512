"""Where training melodies come from: source specs, and the work items each one yields.

A *source spec* is a short string, so a whole data recipe fits in a config file or a checkpoint's card:

* ``"music21"``: the three folk collections bundled with music21 (see :mod:`.abc_corpus`);
  ``"music21:ryansMammoth,oneills1850"`` picks some of them;
* ``"midi:DIR"``: every ``.mid``/``.midi`` file under a folder (recursively);
* ``"maestro:ZIP"``: the ``.mid``/``.midi`` members of a zip archive such as MAESTRO's, read in place.

Listing a source is cheap and happens in the main process; the expensive parse of each item happens in
worker processes (:mod:`.extract`), so items are small picklable tuples. :meth:`Source.key_material` says
what the cached result depends on, so a changed folder or zip is parsed again.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from composer_app.data import abc_corpus
from composer_app.errors import UserError

MUSIC21 = "music21"
MIDI_DIR = "midi"
MAESTRO = "maestro"
KINDS = (MUSIC21, MIDI_DIR, MAESTRO)
MIDI_SUFFIXES = (".mid", ".midi")

# Work item tags (first element of each item tuple).
ITEM_ABC = "abc"  # ("abc", collection, tune_id, abc_text)
ITEM_MIDI = "midi"  # ("midi", "midi", file_id, path)
ITEM_ZIP = "zip"  # ("zip", "maestro", member_id, zip_path, member)


@dataclass(frozen=True)
class Skip:
    """Something that could not be read while listing a source (the parse never saw it)."""

    id: str
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class Source:
    """One parsed source spec; ``location`` is the collections (music21) or an absolute path."""

    kind: str
    location: str = ""

    @property
    def spec(self) -> str:
        return self.kind if not self.location else f"{self.kind}:{self.location}"

    @property
    def slug(self) -> str:
        """File-name-safe short name for the cache file."""
        if self.kind == MUSIC21:
            return MUSIC21
        stem = Path(self.location).stem or "root"
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:40]
        return f"{self.kind}-{safe}"

    @property
    def collections(self) -> tuple[str, ...]:
        if self.kind != MUSIC21:
            return ()
        return tuple(self.location.split(",")) if self.location else abc_corpus.COLLECTIONS

    def check(self) -> None:
        """Raise :class:`UserError` if the source cannot be used at all (missing folder, bad zip)."""
        if self.kind == MUSIC21:
            for name in self.collections:
                if name not in abc_corpus.COLLECTIONS:
                    raise UserError(
                        f"music21 collection {name!r} is not used for training "
                        f"(choose from {', '.join(abc_corpus.COLLECTIONS)})"
                    )
        elif self.kind == MIDI_DIR:
            if not Path(self.location).is_dir():
                raise UserError(f"MIDI folder not found: {self.location}")
        elif self.kind == MAESTRO:
            path = Path(self.location)
            if not path.is_file():
                raise UserError(f"zip file not found: {path}")
            try:
                with zipfile.ZipFile(path) as zf:
                    zf.infolist()
            except (zipfile.BadZipFile, OSError) as exc:
                raise UserError(f"cannot read zip file {path}: {exc}") from exc

    def key_material(self, limit: int | None) -> dict:
        """Everything the parsed result depends on besides the code's format version."""
        material: dict = {"source": self.spec, "limit": limit}
        if self.kind == MUSIC21:
            import music21

            material["music21"] = music21.__version__
        elif self.kind == MIDI_DIR:
            digest = hashlib.sha1()
            for path in _midi_files(Path(self.location), limit):
                st = path.stat()
                digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            material["files"] = digest.hexdigest()
        elif self.kind == MAESTRO:
            st = Path(self.location).stat()
            material["zip"] = [st.st_size, st.st_mtime_ns]
        return material

    def items(self, limit: int | None = None) -> tuple[list[tuple], list[Skip]]:
        """Work items for the parse workers, and what could not even be listed.

        ``limit`` keeps the first ``limit`` files of each collection, folder or zip (quick runs).
        """
        self.check()
        if self.kind == MUSIC21:
            return _music21_items(self.collections, limit)
        if self.kind == MIDI_DIR:
            root = Path(self.location)
            items = [
                (ITEM_MIDI, MIDI_DIR, p.relative_to(root).as_posix(), str(p))
                for p in _midi_files(root, limit)
            ]
            return items, []
        members = _zip_midi_members(Path(self.location), limit)
        return [(ITEM_ZIP, MAESTRO, m, self.location, m) for m in members], []


_KIND_ALIASES = {
    "midi_dir": MIDI_DIR,
    "midi": MIDI_DIR,
    "maestro_zip": MAESTRO,
    "maestro": MAESTRO,
    "zip": MAESTRO,
}


def parse_source(spec) -> Source:
    """Turn a spec into a :class:`Source`; raise :class:`UserError` if unknown.

    A spec is a string (``"music21"``, ``"midi:DIR"``, ``"maestro:ZIP"``), a ``(kind, location)`` pair such as
    ``("midi_dir", DIR)``, or a folder / zip path.
    """
    if isinstance(spec, Source):
        return spec
    if isinstance(spec, tuple) and len(spec) == 2:  # ("midi_dir", path) style
        kind = _KIND_ALIASES.get(str(spec[0]).lower().replace("-", "_"), str(spec[0]))
        return parse_source(f"{kind}:{spec[1]}" if spec[1] else kind)
    if isinstance(spec, os.PathLike):
        path = Path(spec)
        return parse_source(f"{MAESTRO if path.suffix.lower() == '.zip' else MIDI_DIR}:{path}")
    spec = str(spec)
    kind, _, location = spec.partition(":")
    if kind == MUSIC21:
        names = tuple(n.strip() for n in location.split(",") if n.strip())
        if set(names) == set(abc_corpus.COLLECTIONS) or not names:
            return Source(MUSIC21)
        return Source(MUSIC21, ",".join(names))
    if kind in (MIDI_DIR, MAESTRO) and location:
        try:
            return Source(kind, str(Path(location).expanduser().resolve()))
        except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError for a symbolic link loop
            raise UserError(f"{location} is a symbolic link that leads back to itself (a link loop), not a "
                            "folder") from None
    raise UserError(
        f"unknown data source {spec!r}: use 'music21', 'music21:COLLECTION[,...]', 'midi:DIR' or 'maestro:ZIP'"
    )


def _music21_items(collections, limit) -> tuple[list[tuple], list[Skip]]:
    items: list[tuple] = []
    skips: list[Skip] = []
    for name in collections:
        files = abc_corpus.collection_files(name)
        if limit is not None:
            files = files[:limit]
        for path in files:
            file_id = f"{name}/{path.name}"
            try:
                text = abc_corpus.read_abc_file(path)
            except OSError as exc:
                skips.append(Skip(file_id, "unreadable file", str(exc)))
                continue
            for i, (_label, tune) in enumerate(abc_corpus.split_abc_tunes(text), start=1):
                items.append((ITEM_ABC, name, f"{file_id}#{i}", tune))
    return items, skips


#: How deep under a MIDI folder files are looked for: music collections nest a few levels; far deeper is a
#: damaged or hostile tree (Python's own recursive walk fails past about 1,000 levels with a RecursionError).
MAX_FOLDER_DEPTH = 64


def _midi_files(root: Path, limit: int | None) -> list[Path]:
    """The MIDI files under ``root``, sorted. The walk keeps its own stack (no recursion limit to hit), does not
    follow links to folders (a link back up would loop forever), and refuses a tree nested past
    :data:`MAX_FOLDER_DEPTH` in words."""
    files, stack = [], [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            with os.scandir(folder) as entries:
                entries = list(entries)
        except OSError as exc:
            raise UserError(f"cannot read the folder {folder}: {exc.strerror or exc}") from None
        for entry in entries:
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                if depth + 1 > MAX_FOLDER_DEPTH:
                    raise UserError(f"{root} holds folders nested more than {MAX_FOLDER_DEPTH} levels deep "
                                    f"({path.relative_to(root).parts[0]}/…); no MIDI folder is that deep")
                stack.append((path, depth + 1))
            elif path.suffix.lower() in MIDI_SUFFIXES and not entry.name.startswith("._") and _is_file(entry):
                files.append(path)
    files.sort()
    return files[:limit] if limit is not None else files


def _is_file(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file()  # a link to a file counts; a link loop does not
    except OSError:
        return False


def _zip_midi_members(path: Path, limit: int | None) -> list[str]:
    try:
        with zipfile.ZipFile(path) as zf:
            names = [
                info.filename
                for info in zf.infolist()
                if not info.is_dir()
                and Path(info.filename).suffix.lower() in MIDI_SUFFIXES
                and not info.filename.startswith("__MACOSX/")
            ]
    except (zipfile.BadZipFile, OSError) as exc:
        raise UserError(f"cannot read zip file {path}: {exc}") from exc
    names.sort()
    return names[:limit] if limit is not None else names
