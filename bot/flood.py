"""Per-user flood limit: a sliding one-minute window, one polite notice, then silence."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

WINDOW_S = 60.0
Verdict = Literal["ok", "warn", "drop"]


@dataclass
class FloodGuard:
    """Counts each user's messages; other users are never affected by one user's flood."""

    limit_per_minute: int
    _seen: dict[int, deque[float]] = field(default_factory=dict)
    _warned: set[int] = field(default_factory=set)

    def check(self, user_id: int, now: float | None = None) -> Verdict:
        """``ok`` to answer, ``warn`` for the first message over the limit, ``drop`` after that."""
        now = time.monotonic() if now is None else now
        times = self._seen.setdefault(user_id, deque())
        while times and now - times[0] >= WINDOW_S:
            times.popleft()
        if len(times) < self.limit_per_minute:
            times.append(now)
            self._warned.discard(user_id)
            return "ok"
        if user_id in self._warned:
            return "drop"
        self._warned.add(user_id)
        return "warn"

    def forget_idle(self, now: float | None = None) -> None:
        """Drop users with no message in the window, so memory stays bounded."""
        now = time.monotonic() if now is None else now
        for user_id in [u for u, t in self._seen.items() if not t or now - t[-1] >= WINDOW_S]:
            del self._seen[user_id]
            self._warned.discard(user_id)
