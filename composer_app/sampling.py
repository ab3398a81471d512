"""Drawing pitches from a model: settings, stochastic sampling, hybrid beam search, and the live stepper.

The controls keep the original project's meaning (``top_k``, ``top_p``, ``repeat_decay``, ``temperature``,
hints, and the hybrid beam search with ``beam_prob``); beyond the original: a scale/range lock, a seed for
reproducible results, and a temperature that really sharpens or flattens the distribution (the original
divided already-normalised probabilities, which ``multinomial`` ignores).

Everything here works through the step interface of :mod:`models.streaming`; beam search runs all beams as
one batch through the model.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import torch

from composer_app.beats import beats_for_kind
from composer_app.checkpoints import LoadedModel
from composer_app.errors import UserError
from models.streaming import repeat_state, select_state

PROFILES_FILE = Path(__file__).with_name("profiles.toml")
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MODES = {
    "major": MAJOR, "ionian": MAJOR, "minor": (0, 2, 3, 5, 7, 8, 10), "aeolian": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10), "mixolydian": (0, 2, 4, 5, 7, 9, 10), "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11), "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
    "pentatonic": (0, 2, 4, 7, 9), "minor pentatonic": (0, 3, 5, 7, 10), "blues": (0, 3, 5, 6, 7, 10),
    "chromatic": tuple(range(12)),
}
NOTE_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def note_name(pitch: int) -> str:
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def parse_pitch_class(text: str) -> int:
    m = re.fullmatch(r"([A-Ga-g])([#b]?)", text.strip())
    if not m:
        raise UserError(f"not a key name: {text!r} (try C, F#, Bb)")
    return (_PC[m.group(1).upper()] + {"#": 1, "b": -1, "": 0}[m.group(2)]) % 12


def parse_scale(text: str | None) -> tuple[int, tuple[int, ...]] | None:
    """``"C major"``, ``"A minor"``, ``"D dorian"`` -> (tonic pitch class, intervals); None for no lock."""
    if not text or text.strip().lower() in ("none", "off", "chromatic"):
        return None
    tonic, _, mode = text.strip().partition(" ")
    mode = mode.strip().lower() or "major"
    if mode not in MODES:
        raise UserError(f"unknown scale {mode!r}; choose one of {', '.join(MODES)}")
    return parse_pitch_class(tonic), MODES[mode]


def parse_hint(text: str) -> int:
    """A hint note as the original wrote it: scale degree with "1" = middle C ("3", "5", "8" = C5,
    "b3", "#4"), or a note name with octave ("E4", "Bb3")."""
    s = str(text).strip()
    m = re.fullmatch(r"([#b]?)(\d+)", s)
    if m:
        degree = int(m.group(2))
        if degree < 1:
            raise UserError(f"scale degrees start at 1 (middle C): {text!r}")
        octave, step = divmod(degree - 1, 7)
        return 60 + 12 * octave + MAJOR[step] + {"#": 1, "b": -1, "": 0}[m.group(1)]
    m = re.fullmatch(r"([A-Ga-g][#b]?)(-?\d)", s)
    if m:
        return parse_pitch_class(m.group(1)) + 12 * (int(m.group(2)) + 1)
    raise UserError(f"not a hint note: {text!r} (scale degrees like 1 3 5, or names like E4)")


@dataclass(frozen=True)
class SamplingSettings:
    strategy: str = "stochastic"
    temperature: float = 1.0
    top_k: int = 4
    top_p: float = 0.9
    repeat_decay: float = 0.5
    num_beams: int = 5
    beam_prob: float = 0.5
    hints: tuple[int, ...] = ()
    scale: str | None = None
    low: int = 21
    high: int = 108

    def __post_init__(self):
        if self.strategy not in ("stochastic", "beam"):
            raise UserError(f"strategy must be 'stochastic' or 'beam', not {self.strategy!r}")
        if not self.temperature > 0:
            raise UserError("temperature must be positive")
        if not 0 < self.top_p <= 1:
            raise UserError("top_p must be in (0, 1]")
        if not 0 <= self.repeat_decay <= 1:
            raise UserError("repeat_decay must be between 0 and 1")
        if self.top_k < 1 or self.num_beams < 1 or not 0 <= self.beam_prob <= 1:
            raise UserError("top_k and num_beams must be at least 1, beam_prob in [0, 1]")
        if not 0 <= self.low <= self.high <= 127:
            raise UserError(f"pitch range {self.low}..{self.high} is not within 0..127")
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


def load_profiles(path=None) -> dict[str, dict]:
    path = Path(path) if path else user_profiles_file()
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"cannot read sampling profiles {path}: {exc}") from None


def user_profiles_file() -> Path:
    """The user's own profiles file if they made one (config folder), else the bundled one."""
    import platformdirs

    user = Path(platformdirs.user_config_dir("everybody-compose")) / "profiles.toml"
    return user if user.exists() else PROFILES_FILE


def settings_from_profile(name: str, path=None, **overrides) -> SamplingSettings:
    profiles = load_profiles(path)
    if name not in profiles:
        raise UserError(f"no sampling profile {name!r}; available: {', '.join(profiles)}")
    values = dict(profiles[name])
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(SamplingSettings)}
    unknown = set(values) - known
    if unknown:
        raise UserError(f"profile {name!r} has unknown settings: {', '.join(sorted(unknown))}")
    if "hints" in values:
        values["hints"] = tuple(parse_hint(h) if isinstance(h, str) else int(h) for h in values["hints"])
    return SamplingSettings(**values)


def lock_bias(settings: SamplingSettings) -> torch.Tensor:
    """Additive bias over the 128 pitches: 0 where the lock allows a pitch, -inf elsewhere."""
    return torch.zeros(128).masked_fill(~settings.allowed(), float("-inf"))


def pitch_log_probs(logits: torch.Tensor, prev: torch.Tensor, s: SamplingSettings,
                    bias: torch.Tensor) -> torch.Tensor:
    """Log-probabilities after temperature, the lock (``bias`` from :func:`lock_bias``) and the repeat penalty
    on the previous pitch: (B, 128). Few tensor operations on purpose: this runs at every key-down.

    A ``repeat_decay`` of 1 forbids the repeat unless it is the only pitch the lock allows.
    """
    z = logits.float() / s.temperature + bias
    if s.repeat_decay > 0:
        penalty = math.log1p(-s.repeat_decay) if s.repeat_decay < 1 else -1e9
        z[torch.arange(len(prev)), prev] += penalty
    return torch.log_softmax(z, dim=-1)


def draw(logp: torch.Tensor, s: SamplingSettings, generator: torch.Generator | None) -> torch.Tensor:
    """Draw one pitch per row among the ``top_k`` most likely that fit in the ``top_p`` nucleus (at least one),
    as the original did: sorted by probability, nucleus first, then at most ``top_k``."""
    top, idx = torch.topk(logp, min(s.top_k, logp.shape[-1]), dim=-1)
    probs = top.exp()
    keep = (probs.cumsum(-1) - probs) < s.top_p
    keep[:, 0] = True
    choice = torch.multinomial(probs * keep, 1, generator=generator)
    return idx.gather(-1, choice).squeeze(-1)


def model_beats(loaded: LoadedModel, rests, durs) -> torch.Tensor:
    """(1, n, 2) input features of a rhythm for ``loaded``'s kind."""
    raw = beats_for_kind(loaded.kind, np.asarray(rests), np.asarray(durs))
    return loaded.features_of(raw).unsqueeze(0)


def _generator(seed: int | None) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(int(seed) if seed is not None else int(torch.seed() % (2**63)))
    return g


@torch.no_grad()
def generate(loaded: LoadedModel, rests, durs, settings: SamplingSettings, seed: int | None = None,
             progress=None) -> np.ndarray:
    """Pitches for a whole rhythm (``rests``, ``durs`` in seconds) by the settings' strategy."""
    if len(rests) == 0:
        return np.zeros(0, dtype=np.int64)
    if settings.strategy == "beam":
        return beam_search(loaded, rests, durs, settings, seed, progress)
    return stochastic(loaded, rests, durs, settings, seed, progress)


@torch.no_grad()
def stochastic(loaded, rests, durs, settings, seed=None, progress=None) -> np.ndarray:
    model, g = loaded.model, _generator(seed)
    beats = model_beats(loaded, rests, durs)
    bias = lock_bias(settings)
    state = model.start(1, beats=beats)
    prev = torch.zeros(1, dtype=torch.long)
    out = []
    for t in range(beats.shape[1]):
        logits, state = model.step(state, beats[:, t], prev)
        if t < len(settings.hints):
            prev = torch.tensor([settings.hints[t]])
        else:
            prev = draw(pitch_log_probs(logits, prev, settings, bias), settings, g)
        out.append(int(prev))
        if progress is not None:
            progress(t + 1, beats.shape[1])
    return np.array(out, dtype=np.int64)


@torch.no_grad()
def beam_search(loaded, rests, durs, settings, seed=None, progress=None) -> np.ndarray:
    """Hybrid beam search: all ``num_beams`` beams step as one batch; each beat either expands every beam
    over all pitches and keeps the best (probability ``beam_prob``) or draws one continuation per beam."""
    model, g, k = loaded.model, _generator(seed), settings.num_beams
    beats = model_beats(loaded, rests, durs)
    n = beats.shape[1]
    bias = lock_bias(settings)
    state = repeat_state(model.start(1, beats=beats), k)
    prev = torch.zeros(k, dtype=torch.long)
    scores = torch.full((k,), float("-inf"))
    scores[0] = 0.0  # all beams start identical: expand only one of them at first
    history = torch.zeros(k, n, dtype=torch.long)
    for t in range(n):
        logits, state = model.step(state, beats[:, t].expand(k, -1), prev)
        logp = pitch_log_probs(logits, prev, settings, bias)
        if t < len(settings.hints):
            nxt = torch.full((k,), settings.hints[t])
            parents = torch.arange(k)
            scores = scores + logp[parents, nxt]
        elif torch.rand(1, generator=g).item() < settings.beam_prob:
            total = (scores.unsqueeze(1) + logp).reshape(-1)
            best = torch.topk(total, k).indices
            parents, nxt = best // 128, best % 128
            scores = total[best]
        else:
            parents = torch.arange(k)
            nxt = draw(logp, settings, g)
            scores = scores + logp[parents, nxt]
        state = select_state(state, parents)
        history = history[parents]
        history[:, t] = nxt
        prev = nxt
        if progress is not None:
            progress(t + 1, n)
    return history[int(torch.argmax(scores))].numpy().astype(np.int64)


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
        self._generator = _generator(self.seed)
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
        self._bias = lock_bias(self.settings)
        with torch.no_grad():
            self._state = self.loaded.model.start(1)
        self._prev = torch.zeros(1, dtype=torch.long)
        self.count = 0

    def set_settings(self, settings: SamplingSettings) -> None:
        self.settings = settings
        self._bias = lock_bias(settings)

    @torch.no_grad()
    def next_pitch(self, rest_s: float, prev_dur_s: float) -> int:
        beat = self.loaded.features_of([[rest_s, prev_dur_s]])
        logits, self._state = self.loaded.model.step(self._state, beat, self._prev)
        if self.count < len(self.settings.hints):
            pitch = torch.tensor([self.settings.hints[self.count]])
        else:
            pitch = draw(pitch_log_probs(logits, self._prev, self.settings, self._bias),
                         self.settings, self._generator)
        self._prev = pitch
        self.count += 1
        return int(pitch)
