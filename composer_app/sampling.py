"""Drawing pitches from a model: settings, sampling, ranked lines and variations, beam search, the live stepper.

The controls keep the original project's meaning (``top_k``, ``top_p``, ``repeat_decay``, ``temperature``,
hints, and the hybrid beam search with ``beam_prob``); beyond the original: a scale/range lock, a seed for
reproducible results, a temperature that really sharpens or flattens the distribution (the original
divided already-normalised probabilities, which ``multinomial`` ignores), contour steering (``steer``: a
direction per note re-weights the model's distribution towards pitches above, below or at the previous one),
the loop guard (:mod:`composer_app.loop_guard`), whole lines drawn in one batch and ranked by the model
(the "rank" strategy, Recolour's variations), and composing only some notes around kept ones (``fixed``).
How the defaults were chosen: ``docs/what_it_plays.md``.

Everything here runs on the models' fast path (:mod:`models.fast`): live steps, and sessions over a whole
rhythm in which several lines (beams, candidates, variations) run as one batch. Steps run under
``torch.inference_mode`` (no autograd bookkeeping), so the states and scores they make are for inference only.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from composer_app.beats import beats_for_kind
from composer_app.checkpoints import LoadedModel
from composer_app.errors import UserError
from composer_app.file_checks import check_regular_file
from composer_app.loop_guard import LoopGuard
from composer_app.pitches import parse_hint, parse_scale
from models.fast import fast_steps, session_for

PROFILES_FILE = Path(__file__).with_name("profiles.toml")
#: "stochastic": one line drawn beat by beat; "rank": several drawn in one batch, the most likely kept;
#: "beam": hybrid beam search (the original project's).
STRATEGIES = ("stochastic", "rank", "beam")
MIN_LOOP_GUARD, MAX_LOOP_GUARD = 3, 64
#: Beyond these the arithmetic itself breaks (1 / T overflows) or the search outgrows memory and patience.
MIN_TEMPERATURE, MAX_TEMPERATURE, MAX_BEAMS = 0.01, 100.0, 64
#: Lines drawn for a gap between kept notes, of which the best lead into what follows (docs/infill.md); fewer
#: for a long take, so that all candidates together step at most INFILL_NOTES notes (a Recolour of a selection
#: stays well under half a second: `bench generate`).
INFILL_CANDIDATES, INFILL_NOTES = 16, 4096


@dataclass(frozen=True)
class SamplingSettings:
    # The defaults are the bundled "default" profile's (a test holds them equal).
    strategy: str = "stochastic"
    temperature: float = 0.9
    top_k: int = 128
    top_p: float = 1.0
    repeat_decay: float = 0.0
    num_beams: int = 4
    beam_prob: float = 0.5
    hints: tuple[int, ...] = ()
    scale: str | None = None
    low: int = 21
    high: int = 108
    steer: float = 0.0  # contour steering strength: 0 = the model alone, 1 = only the asked side
    loop_guard: int = 12  # a short cycle (period <= 4) may not run this many notes; 0 = no guard
    max_run: int = 4  # at most this many notes of one pitch in a row; 0 = no limit

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise UserError(f"strategy must be one of {', '.join(map(repr, STRATEGIES))}, not {self.strategy!r}")
        if self.loop_guard != 0 and not MIN_LOOP_GUARD <= self.loop_guard <= MAX_LOOP_GUARD:
            raise UserError(f"loop_guard must be 0 (off) or {MIN_LOOP_GUARD}-{MAX_LOOP_GUARD} notes, "
                            f"not {self.loop_guard}")
        if not 0 <= self.max_run <= MAX_LOOP_GUARD:
            raise UserError(f"max_run must be 0 (no limit) to {MAX_LOOP_GUARD} notes, not {self.max_run}")
        if not self.temperature > 0:
            raise UserError("temperature must be positive")
        if not 0 < self.top_p <= 1:
            raise UserError("top_p must be in (0, 1]")
        if not 0 <= self.repeat_decay <= 1:
            raise UserError("repeat_decay must be between 0 and 1")
        if not MIN_TEMPERATURE <= self.temperature <= MAX_TEMPERATURE:
            raise UserError(f"temperature must be between {MIN_TEMPERATURE} and {MAX_TEMPERATURE}, "
                            f"not {self.temperature}")
        if not 1 <= self.top_k <= 128:
            raise UserError(f"top_k must be 1-128 (there are 128 pitches), not {self.top_k}")
        if not 1 <= self.num_beams <= MAX_BEAMS or not 0 <= self.beam_prob <= 1:
            raise UserError(f"num_beams must be 1-{MAX_BEAMS} and beam_prob in [0, 1], "
                            f"not {self.num_beams} and {self.beam_prob}")
        if not 0 <= self.steer <= 1:
            raise UserError(f"steer must be between 0 and 1, not {self.steer}")
        if not (0 <= self.low <= 127 and 0 <= self.high <= 127):
            raise UserError(f"pitch range {self.low}..{self.high} is not within 0..127")
        if self.low > self.high:
            raise UserError(f"the low pitch {self.low} is above the high pitch {self.high}")
        if any(not 1 <= h <= 127 for h in self.hints):
            raise UserError(f"hint notes must be MIDI pitches 1-127, not {', '.join(map(str, self.hints))}")
        if not self.allowed().any():
            raise UserError("the scale and range lock leave no pitch to play")

    def allowed(self) -> torch.Tensor:
        """Boolean mask over the 128 pitches that may be drawn (range and scale lock; 0 is the start token)."""
        mask = torch.zeros(128, dtype=torch.bool)
        mask[max(self.low, 1): self.high + 1] = True
        scale = parse_scale(self.scale)
        if scale:
            tonic, intervals = scale
            pcs = torch.tensor([(tonic + i) % 12 for i in intervals])
            mask &= torch.isin(torch.arange(128) % 12, pcs)
        return mask

    def with_(self, **changes) -> SamplingSettings:
        return replace(self, **changes)


#: The type each profile setting must have in a profiles file (TOML types; a whole number is a real number too).
PROFILE_TYPES = {
    "strategy": str, "temperature": float, "top_k": int, "top_p": float, "repeat_decay": float, "num_beams": int,
    "beam_prob": float, "hints": list, "scale": str, "low": int, "high": int, "steer": float, "loop_guard": int,
    "max_run": int,
}
_TYPE_WORDS = {str: "text", float: "a number", int: "a whole number", list: "a list of notes"}


@dataclass(frozen=True)
class ProfileSet:
    """The usable profiles of a profiles file, and what is wrong with the others (name -> reason; the key ``""``
    is a problem with the file itself)."""

    profiles: dict[str, dict]
    problems: dict[str, str]

    def messages(self) -> list[str]:
        return list(self.problems.values())


def read_profiles(path=None) -> ProfileSet:
    """The sampling profiles of ``path``, each checked; a bad profile is left out and said why, never fatal.

    Without ``path``: the bundled profiles, with the user's own file (if they made one) on top; a user file that
    cannot be read at all leaves the bundled ones. An explicit ``path`` that cannot be read is a
    :class:`UserError`.
    """
    if path is not None:
        return _checked_profiles(_read_toml(Path(path)), Path(path))
    bundled = _checked_profiles(_read_toml(PROFILES_FILE), PROFILES_FILE)
    user = user_profiles_file()
    if user == PROFILES_FILE:
        return bundled
    try:
        mine = _checked_profiles(_read_toml(user), user)
    except UserError as exc:
        return ProfileSet(bundled.profiles, {"": f"{exc}; the bundled sampling profiles are used"})
    return ProfileSet({**bundled.profiles, **mine.profiles}, mine.problems)


def load_profiles(path=None) -> dict[str, dict]:
    """The usable profiles (see :func:`read_profiles`), by name."""
    return read_profiles(path).profiles


#: A profiles file is a few hundred bytes; anything this large is not one (and is not parsed).
MAX_PROFILES_BYTES = 1 << 20


def _read_toml(path: Path) -> dict:
    try:
        check_regular_file(path, "a profiles file", MAX_PROFILES_BYTES)
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UserError as exc:
        raise UserError(f"cannot read sampling profiles: {exc}") from None
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: TOML errors, 5,000-digit numbers
        raise UserError(f"cannot read sampling profiles {path}: {exc}") from None


def _checked_profiles(raw: dict, path: Path) -> ProfileSet:
    profiles, problems = {}, {}
    for name, values in raw.items():
        if not isinstance(values, dict):
            problems[name] = f"{path}: {name!r} is ignored: it is not a sampling profile (a [{name}] table)"
            continue
        try:
            settings_of(values)
        except UserError as exc:
            problems[name] = f"{path}: sampling profile {name!r} is not used: {exc}"
        else:
            profiles[name] = values
    return ProfileSet(profiles, problems)


def settings_of(values: dict) -> SamplingSettings:
    """:class:`SamplingSettings` from a profile's values, each checked for its name, type and range."""
    unknown = sorted(set(values) - set(PROFILE_TYPES))
    if unknown:
        raise UserError(f"unknown settings {', '.join(unknown)} (known: {', '.join(PROFILE_TYPES)})")
    for key, value in values.items():
        want = PROFILE_TYPES[key]
        ok = isinstance(value, want) and not isinstance(value, bool)
        if want is list:
            ok = isinstance(value, list | tuple)
        elif want is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if not ok:
            raise UserError(f"{key} must be {_TYPE_WORDS[want]}, not {value!r}")
    values = dict(values)
    if "hints" in values:
        if not all(isinstance(h, str | int) and not isinstance(h, bool) for h in values["hints"]):
            raise UserError(f"hints must be notes such as 1, 3, \"b3\" or \"E4\", not {values['hints']!r}")
        values["hints"] = tuple(parse_hint(str(h)) for h in values["hints"])  # 1 = middle C, as documented
    return SamplingSettings(**values)


def user_profiles_file() -> Path:
    """The user's own profiles file if they made one (config folder), else the bundled one."""
    import platformdirs

    user = Path(platformdirs.user_config_dir("everybody-compose")) / "profiles.toml"
    return user if user.exists() else PROFILES_FILE


def settings_from_profile(name: str, path=None, **overrides) -> SamplingSettings:
    """The settings of profile ``name`` with ``overrides`` (those not None) on top; a profile that is missing or
    was left out as bad is a :class:`UserError` saying which and why."""
    found = read_profiles(path)
    if name not in found.profiles:
        raise UserError(found.problems.get(name)
                        or f"no sampling profile {name!r}; available: {', '.join(found.profiles)}")
    return settings_of({**found.profiles[name], **{k: v for k, v in overrides.items() if v is not None}})


#: Direction 0 ("the same key again") asks for the same pitch (0 semitones away): a player who repeats a key
#: expects the note to repeat. Only when the lock forbids that pitch do the nearest allowed ones stand in.
STEP_SEMITONES = 0
_PITCHES = np.arange(128)


def steer_side(prev: np.ndarray, direction: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """(rows, 128) mask of the pitches each row's direction asks for, among ``allowed`` (rows, 128).

    +1: above the previous pitch; -1: below; 0: the same pitch (the same key again repeats its note) or, when the
    lock forbids it, the nearest allowed pitches (both neighbours when they are equally near).
    """
    diff = _PITCHES[None, :] - prev[:, None]
    d = direction[:, None]
    dist = np.where(allowed, np.abs(diff), 1 << 10)
    near = dist <= np.maximum(STEP_SEMITONES, dist.min(axis=1, keepdims=True))
    side = np.where(d > 0, diff > 0, np.where(d < 0, diff < 0, near))
    return side & allowed


def lock_bias(settings: SamplingSettings) -> np.ndarray:
    """Additive bias over the 128 pitches: 0 where the lock allows a pitch, -inf elsewhere."""
    return np.where(settings.allowed().numpy(), 0.0, -np.inf).astype(np.float32)


class PitchHead:
    """The sampling settings as per-beat arithmetic on ``rows`` rows of logits, derived once per generation.

    NumPy on purpose: this runs at every key-down and every beam step on a few rows of 128 numbers, where
    each torch call costs several microseconds and each NumPy call about one; the constants (lock bias,
    penalty, row numbers) are made here, not at every beat.
    """

    def __init__(self, settings: SamplingSettings, rows: int = 1):
        bias = lock_bias(settings)
        self.scale = None if settings.temperature == 1.0 else np.float32(1.0 / settings.temperature)
        decay = settings.repeat_decay
        penalty = 0.0 if decay == 0 else (math.log1p(-decay) if decay < 1 else -1e9)
        # Row p: the lock's bias plus the repeat penalty on pitch p, so a beat adds both with one row lookup
        # per beam (64 KB; a scattered add per row cost three times as much).
        self.offsets = np.tile(bias, (len(bias), 1))
        self.offsets[np.diag_indices(len(bias))] += np.float32(penalty)
        self.rows = np.arange(rows)
        self.top_k = min(settings.top_k, len(bias))
        self.top_p = settings.top_p
        self.untruncated = self.top_k >= len(bias) and self.top_p >= 1.0
        self.steer = float(settings.steer)
        self._off_side = np.float32(math.log1p(-self.steer) if self.steer < 1 else -np.inf)
        self.guard = LoopGuard(settings.loop_guard, rows, settings.max_run)

    def shape_(self, logits: np.ndarray, prev: np.ndarray, direction=None) -> np.ndarray:
        """Log-probabilities to draw from: temperature, lock and repeat penalty (:meth:`log_probs_`), then
        either the contour steering (when the player steers this beat: the player asked for the line) or
        the loop guard."""
        logp = self.log_probs_(logits, prev)
        if self.steer != 0 and direction is not None:
            return self.steer_(logp, prev, direction)
        return self.guard.apply_(logp)

    def played(self, pitches: np.ndarray) -> None:
        """Record the pitch each row played (hints and forced notes too): the loop guard follows the line."""
        self.guard.push(pitches)

    def keep_line_of(self, other: PitchHead) -> None:
        """Carry on the line ``other`` was following (settings changed mid-take)."""
        self.guard.restore(other.guard.snapshot())

    def steer_(self, logp: np.ndarray, prev: np.ndarray, direction) -> np.ndarray:
        """Re-weight log-probabilities (rows, 128) by the asked ``direction`` (an int, or one per row; None: as
        they are): the probability of each pitch off the asked side of the row's previous pitch is multiplied
        by ``1 - steer``, then the row is normalised again. Rows without a previous pitch (the start token) are
        left as the model made them. A row whose asked side holds no pitch the lock and range allow (up from
        the top of the range) is steered to stay where it is (the nearest allowed pitches), not left to jump
        anywhere. With ``steer`` 0 nothing is computed, so results stay the same bit for bit."""
        if self.steer == 0 or direction is None:
            return logp
        direction = np.broadcast_to(np.asarray(direction, dtype=np.int64), prev.shape)
        allowed = logp > -np.inf
        side = steer_side(prev, direction, allowed)
        edge = ~side.any(axis=1)
        if edge.any():  # nothing on the asked side: the same pitch, or the nearest the lock allows
            side[edge] = steer_side(prev[edge], np.zeros(int(edge.sum()), dtype=np.int64), allowed[edge])
        rows = side.any(axis=1) & (prev > 0)
        if not rows.any():
            return logp
        out = logp.copy()
        out[rows] += np.where(side[rows], np.float32(0), self._off_side)
        out[rows] = torch.log_softmax(torch.from_numpy(out[rows]), 1).numpy()
        return out

    def log_probs_(self, logits: np.ndarray, prev: np.ndarray) -> np.ndarray:
        """Log-probabilities (rows, 128) after temperature, the lock and the repeat penalty on the previous
        pitch (``logits`` is overwritten on the way). A ``repeat_decay`` of 1 forbids the repeat
        unless it is the only pitch the lock allows."""
        z = logits
        if self.scale is not None:
            z *= self.scale
        z += self.offsets[prev]
        return torch.log_softmax(torch.from_numpy(z), 1).numpy()  # one fused call: NumPy needs five for this

    def draw(self, logp: np.ndarray, uniform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One pitch per row, and its log-probability, among the ``top_k`` most likely that fit in the ``top_p``
        nucleus (at least one), as the original did: sorted by probability, nucleus first, then at most
        ``top_k``. ``uniform``: one number in [0, 1) per row (``rng.random``).

        Without truncation (``top_k`` 128, ``top_p`` 1) the draw is the inverse CDF over the pitches in their
        own order. Otherwise the kept pitches are a prefix of the sorted row, so one cumulative sum serves both the
        nucleus and the inverse-CDF draw: the first pitch whose cumulative probability exceeds ``u * kept total`` is
        drawn, which is never past the prefix and never a pitch of probability 0. Both are counts over the
        nondecreasing cumulative sums (a few NumPy calls for all rows: without truncation a row has 128 pitches,
        and walking them in Python cost more than the model's step).
        """
        if self.untruncated:  # every pitch may be drawn: the inverse CDF in pitch order needs no sort
            cum = np.add.accumulate(np.exp(logp, dtype=np.float64), axis=1)
            pitches = (cum <= (uniform * cum[:, -1])[:, None]).sum(axis=1)  # the first pitch past u * total
            pitches = np.minimum(pitches, logp.shape[1] - 1)
            rows = np.arange(len(logp))
            return pitches.astype(np.int64), logp[rows, pitches].astype(np.float64)
        top, idx = torch.topk(torch.from_numpy(logp), self.top_k)  # most likely first
        cum = np.add.accumulate(np.exp(top.numpy()), axis=1)
        kept = 1 + (cum[:, :-1] < self.top_p).sum(axis=1)  # the mass before pitch `kept` is in the nucleus
        rows = self.rows[: len(cum)] if len(cum) <= len(self.rows) else np.arange(len(cum))
        x = uniform * cum[rows, kept - 1]
        j = np.minimum((cum <= x[:, None]).sum(axis=1), kept - 1)
        return idx.numpy()[rows, j].astype(np.int64), top.numpy()[rows, j].astype(np.float64)


def model_beats(loaded: LoadedModel, rests, durs) -> torch.Tensor:
    """(1, n, 2) input features of a rhythm for ``loaded``'s kind."""
    raw = beats_for_kind(loaded.kind, np.asarray(rests), np.asarray(durs))
    return loaded.features_of(raw).unsqueeze(0)


def make_rng(seed: int | None) -> np.random.Generator:
    """The random source of every draw: seeded for reproducible results, else fresh entropy."""
    return np.random.default_rng(None if seed is None else int(seed))


@torch.inference_mode()
def generate(loaded: LoadedModel, rests, durs, settings: SamplingSettings, seed: int | None = None,
             progress=None, contour=None, fixed=None) -> np.ndarray:
    """Pitches for a whole rhythm (``rests``, ``durs`` in seconds) by the settings' strategy.

    ``contour``: a direction per note (+1 up, -1 down, 0 same; see :func:`composer_app.pitches.contour_of`) that
    ``settings.steer`` steers the pitches along; None or a steer of 0 leaves the model alone. ``fixed``: a pitch
    per note to keep (-1 where one is to be drawn): only the others change, composed around the kept ones
    (:func:`ranked_lines`)."""
    if len(rests) == 0:
        return np.zeros(0, dtype=np.int64)
    contour = _checked_contour(contour, len(rests))
    if fixed is not None:
        return generate_variations(loaded, rests, durs, settings, 1, seed, progress, contour, fixed)[0]
    if settings.strategy == "beam":
        return beam_search(loaded, rests, durs, settings, seed, progress, contour)
    rows = settings.num_beams if settings.strategy == "rank" else 1
    return ranked_lines(loaded, rests, durs, settings, rows, seed, progress, contour)[0]


@torch.inference_mode()
def generate_variations(loaded: LoadedModel, rests, durs, settings: SamplingSettings, count: int,
                        seed: int | None = None, progress=None, contour=None, fixed=None) -> list[np.ndarray]:
    """``count`` different melodies for one rhythm, to audition and pick from, the model's likeliest first.

    All are drawn in one batch (the rows of one session), so four cost little more than one. With the "rank"
    strategy ``num_beams`` candidates are drawn (at least ``count``) and the likeliest ``count`` distinct
    ones kept; "beam" draws its variations as "rank" does (beam search's lines differ by a note or two).
    ``fixed`` (see :func:`generate`): up to :data:`INFILL_CANDIDATES` lines are drawn for the notes to change
    (fewer for long takes: :data:`INFILL_NOTES`), and those under which the kept notes after them are likeliest
    are kept."""
    if len(rests) == 0:
        return [np.zeros(0, dtype=np.int64)] * count
    contour = _checked_contour(contour, len(rests))
    rows = max(count, settings.num_beams) if settings.strategy != "stochastic" else count
    if fixed is not None:
        fixed = np.asarray(fixed, dtype=np.int64)
        if fixed.shape != (len(rests),):
            raise UserError(f"{fixed.size} kept pitches for {len(rests)} notes")
        rows = max(rows, min(INFILL_CANDIDATES, INFILL_NOTES // len(rests)))
    lines = ranked_lines(loaded, rests, durs, settings, rows, seed, progress, contour, fixed)
    distinct: list[np.ndarray] = []
    for line in lines:
        if not any(np.array_equal(line, kept) for kept in distinct):
            distinct.append(line)
    while len(distinct) < count:  # fewer distinct lines than asked (a lock of one pitch): repeat the best
        distinct.append(distinct[0])
    return distinct[:count]


def _checked_contour(contour, n: int) -> np.ndarray | None:
    if contour is None:
        return None
    contour = np.sign(np.asarray(contour, dtype=np.int64))
    if contour.shape != (n,):
        raise UserError(f"the contour has {contour.size} directions for {n} notes")
    return contour


def _session(loaded: LoadedModel, rests, durs, rows: int):
    return session_for(loaded.model, model_beats(loaded, rests, durs), rows)


def _model_log_probs(scores: np.ndarray) -> np.ndarray:
    """The model's own log-probabilities from a session's scores (logits, or already normalised)."""
    return torch.log_softmax(torch.from_numpy(scores), 1).numpy()


@torch.inference_mode()
def ranked_lines(loaded, rests, durs, settings, rows: int = 1, seed=None, progress=None,
                 contour=None, fixed=None) -> list[np.ndarray]:
    """``rows`` lines drawn beat by beat in one batch, the model's likeliest first.

    Without ``fixed`` every note is drawn and a line's score is the model's own log-probability of it (its
    distribution before temperature, truncation and guard): ranking whole sampled lines keeps what sampling gets
    right (leaps, repeats, a tune's range), and picks among them by what the model knows, instead of searching
    for the single likeliest line, which for a model that copies its own notes is a loop.

    ``fixed``: a pitch per note that must stay (-1 where a note is to be drawn): kept notes are fed to the
    model as played, so the ones before a gap condition it and the memory; a line's score is then the model's
    log-probability of the kept notes *after* the first drawn one — how well the drawn notes lead into what
    comes next. Drawing from the model and keeping the lines under which the rest is likeliest is importance
    resampling towards the model's distribution of the gap given both sides.
    """
    rng = make_rng(seed)
    session = _session(loaded, rests, durs, rows)
    n = len(rests)
    head = PitchHead(settings, rows)
    uniforms = rng.random((n, rows))
    fixed = np.full(n, -1, dtype=np.int64) if fixed is None else np.asarray(fixed, dtype=np.int64)
    drawn = fixed < 0
    scored = ~drawn & (np.cumsum(drawn) > 0) if not drawn.all() else np.ones(n, dtype=bool)
    prev = np.zeros(rows, dtype=np.int64)
    out = np.empty((rows, n), dtype=np.int64)
    score = np.zeros(rows)
    for t in range(n):
        logits = session.step(prev)
        own = _model_log_probs(logits) if rows > 1 and scored[t] else None
        if not drawn[t]:
            prev = np.full(rows, fixed[t], dtype=np.int64)
        elif t < len(settings.hints):
            prev = np.full(rows, settings.hints[t], dtype=np.int64)
        else:
            logp = head.shape_(logits, prev, None if contour is None else contour[t])
            prev = head.draw(logp, uniforms[t])[0]
        head.played(prev)
        if own is not None:
            score += own[head.rows, prev]
        out[:, t] = prev
        if progress is not None:
            progress(t + 1, n)
    return [out[i] for i in np.argsort(-score, kind="stable")]


@torch.inference_mode()
def beam_search(loaded, rests, durs, settings, seed=None, progress=None, contour=None) -> np.ndarray:
    """Hybrid beam search: all ``num_beams`` beams step as one batch; each beat either expands every beam
    over all pitches and keeps the best (probability ``beam_prob``) or draws one continuation per beam.
    The loop guard (when the settings ask for one) removes the pitch that would lock a beam into a cycle
    before either.

    Beams keep back-pointers (parent and pitch per beat), so a beat costs the same at the end of a long
    rhythm as at its start; the state is reordered only on beats where beams were replaced."""
    rng, k = make_rng(seed), settings.num_beams
    session = _session(loaded, rests, durs, k)
    n = len(rests)
    head = PitchHead(settings, k)
    prev = np.zeros(k, dtype=np.int64)
    scores = np.full(k, -np.inf)
    scores[0] = 0.0  # all beams start identical: expand only one of them at first
    rows = head.rows
    parents_at = np.empty((n, k), dtype=np.int64)
    pitches_at = np.empty((n, k), dtype=np.int64)
    expand = rng.random(n) < settings.beam_prob  # which beats expand every beam (hint beats never do)
    uniforms = rng.random((n, k))  # the draws of the other beats
    hints = len(settings.hints)
    for t in range(n):
        logits = session.step(prev)
        if t < hints:
            logp = head.log_probs_(logits, prev)
            prev = np.full(k, settings.hints[t], dtype=np.int64)
            scores = scores + logp[rows, prev]
            parents_at[t] = rows
        else:
            logp = head.shape_(logits, prev, None if contour is None else contour[t])
            if expand[t]:
                total = (logp + scores[:, None]).ravel()
                best = np.argpartition(total, -k)[-k:]
                parents, prev = np.divmod(best, logp.shape[1])
                scores = total[best]
                if (parents != rows).any():
                    session.reorder(parents)
                    head.guard.reorder(parents)
                parents_at[t] = parents
            else:
                prev, chosen = head.draw(logp, uniforms[t])
                scores = scores + chosen
                parents_at[t] = rows
        head.played(prev)
        pitches_at[t] = prev
        if progress is not None:
            progress(t + 1, n)
    melody = np.empty(n, dtype=np.int64)
    beam = int(np.argmax(scores))
    for t in range(n - 1, -1, -1):
        melody[t] = pitches_at[t, beam]
        beam = parents_at[t, beam]
    return melody


@dataclass
class LiveStepper:
    """One live model stepped at each key-down: the engine's view of a model.

    ``next_pitch(rest, prev_dur)`` feeds what is known at key-down and returns the pitch to sound now.
    Settings may change between beats (:meth:`set_settings`); the model may be swapped with :meth:`reset`.
    """

    loaded: LoadedModel
    settings: SamplingSettings = field(default_factory=SamplingSettings)
    seed: int | None = None

    def __post_init__(self):
        self._rng = make_rng(self.seed)
        self.reset()

    def _check_kind(self, loaded: LoadedModel) -> None:
        if loaded.kind != "live":
            raise UserError(f"{loaded.label} cannot play live: it needs the whole rhythm up front. "
                            "Choose a live model.")

    def reset(self, loaded: LoadedModel | None = None) -> None:
        self._check_kind(loaded or self.loaded)
        if loaded is not None:
            self.loaded = loaded
        self.loaded.model.eval()
        self._head = PitchHead(self.settings)
        self._steps = fast_steps(self.loaded.model)
        with torch.inference_mode():
            self._state = self._steps.start(1)
        self._prev = np.zeros(1, dtype=np.int64)
        self.count = 0

    def set_settings(self, settings: SamplingSettings) -> None:
        self.settings = settings
        head = PitchHead(settings)
        head.keep_line_of(self._head)
        self._head = head

    def _step(self, rest_s: float, prev_dur_s: float) -> np.ndarray:
        beat = self.loaded.features_of([[rest_s, prev_dur_s]])
        logits, self._state = self._steps.step(self._state, beat, torch.from_numpy(self._prev))
        return logits.numpy()

    @torch.inference_mode()
    def next_pitch(self, rest_s: float, prev_dur_s: float, direction: int | None = None) -> int:
        """Step with the beat known at key-down and draw the pitch to sound; ``direction`` (+1 up, -1 down,
        0 same) steers the draw by ``settings.steer``."""
        logits = self._step(rest_s, prev_dur_s)
        if self.count < len(self.settings.hints):
            pitch = np.array([self.settings.hints[self.count]], dtype=np.int64)
        else:
            logp = self._head.shape_(logits, self._prev, direction)
            pitch = self._head.draw(logp, self._rng.random(1))[0]
        self._head.played(pitch)
        self._prev = pitch
        self.count += 1
        return int(pitch[0])

    @torch.inference_mode()
    def force(self, rest_s: float, prev_dur_s: float, pitch: int) -> None:
        """Step with a beat whose pitch is already known (teacher forcing): the state the model would have
        if it had drawn ``pitch`` itself, e.g. to prime a new model with the notes already played."""
        self._step(rest_s, prev_dur_s)
        self._prev = np.array([pitch], dtype=np.int64)
        self._head.played(self._prev)
        self.count += 1
