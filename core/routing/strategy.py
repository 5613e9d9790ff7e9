"""Routing strategies: the order in which the router tries its providers, and a sentence saying why.

- `cost` (the default): the task's default provider, then the rest cheapest first (`ModelRouter.plan`).
- `balanced`: each provider gets a score, the weighted mean (`[router.weights]`) of three parts in 0..1, lower
  is better: its price for a typical call of the task over the dearest candidate's, its p50 latency over the
  slowest known one's, and its recent error rate. The stats come from the tracker's own rows (`core.routing.stats`),
  read in the background, so ordering a plan costs a few dict look-ups. A provider with too few recent calls to
  judge counts as typical: the median latency of the others, and its failures spread over `stats_min_calls`.
- With `[router] prefer_ab_winner`, a task with at least `ab_min_votes` A/B votes goes first to the winner by
  win rate per dollar (`core.ab.evidence`), on top of either strategy.

`optimize_cost` (the sidebar's toggle) and a provider asked for by name bypass both: cheapest first, or that one.
The offline engine is never ranked: it stays the last resort.
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.base import TaskType
from core.routing.stats import ProviderStats, RouteStats, Snapshot
from core.tasks import TASKS

if TYPE_CHECKING:
    from core.ab import Evidence
    from core.config import StrategySettings
    from core.pricing import ModelPrice

__all__ = ["REFERENCE_INPUT_TOKENS", "Ranking", "Scored", "Strategy", "describe", "preview", "score"]

#: The prompt size a "typical call" is priced at (the output is the task's expected output).
REFERENCE_INPUT_TOKENS = 1000
#: How many other providers a balanced route reason names besides the chosen one.
_OTHERS_NAMED = 2


@dataclass(frozen=True, slots=True)
class Scored:
    """One candidate under `balanced`: what it costs, how it has done, and its score (lower is better)."""

    name: str
    cost_usd: float
    stats: ProviderStats | None
    score: float


def score(
    costs: Mapping[str, float],
    stats: Mapping[str, ProviderStats],
    weights: tuple[float, float, float],
    min_calls: int,
) -> list[Scored]:
    """Candidates (in `costs`' order, cheapest first) scored and sorted best first; ties keep the price order."""
    w_price, w_latency, w_errors = weights
    total = (w_price + w_latency + w_errors) or 1.0
    dearest = max(costs.values(), default=0.0)
    known = {
        n: s.p50_ms for n in costs if (s := stats.get(n)) is not None and s.p50_ms is not None and s.successes >= 1
    }
    judged = {n: p50 for n, p50 in known.items() if stats[n].successes >= min_calls}
    slowest = max(judged.values(), default=0.0)
    latency_part = {n: p50 / slowest for n, p50 in judged.items()} if slowest > 0 else dict.fromkeys(judged, 0.0)
    typical = statistics.median(latency_part.values()) if latency_part else 0.0
    out = []
    for rank, (name, cost) in enumerate(costs.items()):
        s = stats.get(name)
        price = cost / dearest if dearest > 0 else 0.0
        latency = latency_part.get(name, typical)
        errors = s.failures / max(s.calls, min_calls) if s is not None else 0.0
        value = (w_price * price + w_latency * latency + w_errors * errors) / total
        out.append((value, rank, Scored(name, cost, s, round(value, 6))))
    out.sort(key=lambda item: (item[0], item[1]))
    return [scored for _value, _rank, scored in out]


def _money(usd: float) -> str:
    return "free" if usd <= 0 else f"~${usd:.4f}" if usd >= 0.0001 else f"~${usd:.6f}"


def describe(scored: Scored, min_calls: int) -> str:
    """`p50 0.4 s, 0% errors, ~$0.0001` (or `no recent calls`) for a route reason."""
    s = scored.stats
    parts = []
    if s is None or not s.calls:
        parts.append("no recent calls")
    else:
        parts.append("p50 –" if s.p50_ms is None else f"p50 {s.p50_ms / 1000:.1f} s")
        parts.append(f"{s.failures / s.calls:.0%} errors")
        if s.calls < min_calls:
            parts.append(f"{s.calls} calls")
    parts.append(_money(scored.cost_usd))
    return ", ".join(parts)


@dataclass(frozen=True)
class Ranking:
    """The plan a strategy made for one task, and what it rested on (for the route reason and the pages)."""

    strategy: str
    task: str
    order: tuple[str, ...]
    scored: tuple[Scored, ...] = ()
    evidence: Evidence | None = None  # the A/B votes, when they put their winner first
    min_calls: int = 1
    _reasons: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)

    def reason(self, chosen: str) -> str | None:
        """The head of the route reason when `chosen` answers; None when this ranking does not explain it.

        Rankings are shared by every call until the stats change, so each sentence is built once.
        """
        if chosen not in self._reasons:
            self._reasons[chosen] = self._reason(chosen)
        return self._reasons[chosen]

    def _reason(self, chosen: str) -> str | None:
        ev = self.evidence
        if ev is not None and ev.winner == chosen:
            return f"A/B votes: {ev.sentence()}"
        if self.strategy != "balanced":
            return None
        by_name = {s.name: s for s in self.scored}
        if chosen not in by_name:
            return None
        others = [s for s in self.scored if s.name != chosen][:_OTHERS_NAMED]
        text = f"balanced: {chosen} chosen ({describe(by_name[chosen], self.min_calls)})"
        return "; ".join([text, *(f"{s.name} {describe(s, self.min_calls)}" for s in others)])


class Strategy:
    """Orders plans by the configured strategy. Thread-safe; rankings are cached per task until new stats arrive."""

    def __init__(
        self,
        settings: StrategySettings,
        stats: RouteStats,
        prices: Callable[[str], ModelPrice],
    ) -> None:
        self.settings = settings
        self.stats = stats
        self._prices = prices
        self._cache: dict[tuple[TaskType, tuple[str, ...]], Ranking] = {}
        self._version = -1
        self._lock = threading.Lock()

    def rank(self, task: TaskType, plan: Sequence[str]) -> Ranking:
        """`plan` (the cost plan: LLMs, then "local") reordered; cheap: one snapshot read and a dict look-up."""
        snapshot = self.stats.current()
        key = (task, tuple(plan))
        if snapshot.version != self._version:
            with self._lock:
                self._cache = {}
                self._version = snapshot.version
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._rank(task, plan, snapshot)
        return found

    def _rank(self, task: TaskType, plan: Sequence[str], snapshot: Snapshot) -> Ranking:
        s = self.settings
        llms = [name for name in plan if name != "local"]
        tail = [name for name in plan if name == "local"]
        scored: tuple[Scored, ...] = ()
        if s.name == "balanced" and llms:
            expected = TASKS[task].expected_output_tokens
            costs = {n: self._prices(n).cost(REFERENCE_INPUT_TOKENS, expected) for n in llms}
            costs = dict(sorted(costs.items(), key=lambda kv: kv[1]))  # ties keep the price order
            weights = (s.price_weight, s.latency_weight, s.errors_weight)
            scored = tuple(score(costs, snapshot.providers, weights, s.min_calls))
            llms = [x.name for x in scored]
        evidence = None
        if s.prefer_ab_winner:
            from core.ab import evidence as ab_evidence

            found = ab_evidence(snapshot.votes, snapshot.vote_counts, task, s.ab_min_votes)
            if found.winner is not None and found.winner in llms:
                llms.remove(found.winner)
                llms.insert(0, found.winner)
                evidence = found
        return Ranking(s.name, task.value, (*llms, *tail), scored, evidence, s.min_calls)


def preview(router: Any, task: TaskType, settings: StrategySettings) -> Ranking:
    """How `settings` would order `router`'s providers for `task` now (for the settings page: reads the stats
    synchronously, whatever strategy the router itself runs)."""
    from core.routing.stats import DbLoader

    load = DbLoader(
        router.settings.db_path,
        lambda: {n: router.settings.providers[n].model for n in router.cost_ranking()},
        window_hours=settings.window_hours, last_calls=settings.last_calls, with_votes=settings.prefer_ab_winner,
        flush=router.tracker.flush, db_url=str(url) if (url := router.settings.db_url) else None,
    )  # fmt: skip
    stats = RouteStats(load, settings.refresh_seconds)
    try:
        stats.refresh()
    finally:
        load.close()
    return Strategy(settings, stats, router.price).rank(task, [*router.cost_ranking(), "local"])
