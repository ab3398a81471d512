"""The loop guard: a line may not lock into a short cycle (one pitch, two alternating, a 3- or 4-note figure).

Why it is needed: the melody memory was trained to copy the *real* notes of a tune, and when playing it copies
the line it has just *sampled*. Once a few sampled notes happen to form a figure, the memory proposes it again,
the line repeats it, and every repeat makes the next copy likelier: the line locks into a loop that no real
tune plays (the two-sample test counts them; real tunes end in such a loop 0 % of the time). The guard breaks
that feedback where it happens, at the draw: when the last ``notes - 1`` pitches of a row already repeat with
a period ``p <= max_period``, the pitch that would carry the cycle on to ``notes`` notes is taken out of the
draw and the rest renormalised, so the line moves on to any other pitch, in the model's proportions. The same
feedback makes runs of one pitch longer than tunes play them: ``max_run`` caps a run the same way. And a line
can collapse onto two pitches in no fixed order (72 77 77 72 77 ...): when the last ``notes - 1`` pitches hold
only two, both are taken out, so a third comes; and when the last :data:`FEW_PITCHES_NOTES` - 1 hold only three,
a fourth must come.

Tunes repeat motifs and phrases (the guard allows that: a motif may come back, just not ``notes`` notes of
the same cycle in a row); the share of real notes the guard would have refused is measured in ``docs/``.
A row whose only allowed pitch is the banned one (a lock of one pitch) is left alone.
"""

from __future__ import annotations

import numpy as np

from composer_app.melody_features import LOOP_PERIOD

#: With the guard on, no more than three pitches may fill this many notes in a row.
FEW_PITCHES_NOTES = 20


def _ban_if_few(out: np.ndarray, lines: np.ndarray, most: int) -> None:
    """Mark in ``out`` every pitch of each row of ``lines`` that holds ``most`` different pitches or fewer."""
    ordered = np.sort(lines, axis=1)
    distinct = 1 + (np.diff(ordered, axis=1) != 0).sum(axis=1)
    for row in np.flatnonzero(distinct <= most):
        out[row, ordered[row]] = True


class LoopGuard:
    """Recent pitches of ``rows`` lines and the cycle each may not extend; ``notes`` 0 turns the guard off."""

    def __init__(self, notes: int, rows: int = 1, max_run: int = 0, max_period: int = LOOP_PERIOD):
        self.notes, self.max_run = int(notes), int(max_run)
        self.max_period = max_period
        self.active = self.notes >= 3 or self.max_run >= 1
        longest = FEW_PITCHES_NOTES - 1 if self.notes >= 3 else 0
        self.history = np.zeros((rows, max(self.notes - 1, longest, self.max_run, 1)), dtype=np.int64)
        self.count = 0

    def push(self, pitches: np.ndarray) -> None:
        """Record the pitch each row just played."""
        if not self.active:
            return
        self.history[:, :-1] = self.history[:, 1:]
        self.history[:, -1] = pitches
        self.count += 1

    def snapshot(self) -> tuple[np.ndarray, int]:
        """What :meth:`restore` needs to go back to this point of the line (undo)."""
        return self.history.copy(), self.count

    def restore(self, snap: tuple[np.ndarray, int]) -> None:
        history, self.count = snap
        if history.shape == self.history.shape:
            self.history = history.copy()
        else:  # the guard's length changed since: keep the newest notes that fit
            self.history[:] = 0
            keep = min(history.shape[1], self.history.shape[1])
            if keep:
                self.history[:, -keep:] = history[:, -keep:]

    def reorder(self, rows: np.ndarray) -> None:
        """Row ``i`` continues from what row ``rows[i]`` was (beam search)."""
        self.history = self.history[rows]

    def banned(self) -> np.ndarray:
        """(rows, 128) mask of the pitches each row may not play now."""
        rows = len(self.history)
        if not self.active or self._free_to_go():
            return np.zeros((rows, 128), dtype=bool)
        return self._rules()

    def _rules(self) -> np.ndarray:
        """:meth:`banned`, every rule checked."""
        rows = len(self.history)
        out = np.zeros((rows, 128), dtype=bool)
        every = np.arange(rows)
        if self.notes >= 3 and self.count >= self.notes - 1:
            h = self.history[:, -(self.notes - 1):]
            length = h.shape[1]
            for period in range(min(self.max_period, length - 1), 0, -1):
                cyclic = (h[:, period:] == h[:, :-period]).all(axis=1)
                out[every[cyclic], h[cyclic, length - period]] = True
            _ban_if_few(out, h, 2)  # two pitches in any order: a line that has collapsed, periodic or not
            if self.count >= FEW_PITCHES_NOTES - 1:
                _ban_if_few(out, self.history[:, -(FEW_PITCHES_NOTES - 1):], 3)
        if self.max_run >= 1 and self.count >= self.max_run:
            run = self.history[:, -self.max_run:]
            same = (run == run[:, -1:]).all(axis=1)
            out[every[same], run[same, -1]] = True
        return out

    def _free_to_go(self) -> bool:
        """True when no rule can refuse anything now (the common case, checked with a few operations): every
        row's last ``notes - 1`` pitches hold five or more different ones (no cycle of period 4 or less, no two
        or three pitches over the windows) and its last two pitches differ (no run)."""
        if len(self.history) == 1:  # live play, at every key-down: plain Python on a dozen numbers is quickest
            line = self.history[0].tolist()
            moving = self.max_run < 1 or self.count < self.max_run or (self.max_run >= 2 and line[-1] != line[-2])
            if self.notes < 3 or self.count < self.notes - 1:
                return moving
            return moving and len(set(line[-(self.notes - 1):])) > self.max_period
        moving = self.max_run < 1 or self.count < self.max_run or (
            self.max_run >= 2 and bool((self.history[:, -1] != self.history[:, -2]).all()))
        if self.notes < 3 or self.count < self.notes - 1:
            return moving
        window = np.sort(self.history[:, -(self.notes - 1):], axis=1)
        varied = (1 + (window[:, 1:] != window[:, :-1]).sum(axis=1)) > self.max_period
        return bool(varied.all()) and moving

    def apply_(self, logp: np.ndarray) -> np.ndarray:
        """Log-probabilities (rows, N) with each row's banned pitches removed and the row renormalised (in place
        where something is banned; rows where nothing else is allowed are left as they are)."""
        if not self.active or self._free_to_go():
            return logp
        ban = self._rules()
        rows = np.flatnonzero(ban.any(axis=1))
        if not len(rows):
            return logp
        others = np.where(ban[rows, :logp.shape[1]], -np.inf, logp[rows])
        ok = np.isfinite(others).any(axis=1)
        rows, others = rows[ok], others[ok]
        if len(rows):
            top = others.max(axis=1, keepdims=True)
            others -= top + np.log(np.exp(others - top).sum(axis=1, keepdims=True))
            logp[rows] = others
        return logp
