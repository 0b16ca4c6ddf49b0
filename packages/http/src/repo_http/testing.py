"""For the hostile sweeps of both apps (their `test_hostile_sweep.py`): one tally of attacks.

Every case counts as tried, and as rejected (refused the way it should be) or as got through.
A sweep prints one table per tally (run its tests with `-- -s` to see them) and fails when
anything got through. Here, not in either app's tests, so the two sweeps count alike.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Tally:
    """tried / rejected / got through, per category; `leaks` says what got through."""

    name: str
    counts: Counter[str] = field(default_factory=Counter)
    leaks: list[str] = field(default_factory=list)

    def record(self, category: str, *, rejected: bool, what: str) -> None:
        self.counts[f"{category}:tried"] += 1
        if rejected:
            self.counts[f"{category}:rejected"] += 1
        else:
            self.counts[f"{category}:through"] += 1
            self.leaks.append(f"{category}: {what}")

    def report(self) -> str:
        categories = sorted({key.split(":")[0] for key in self.counts})
        lines = [f"\n{self.name}: {'category':<22} tried rejected through"]
        for cat in categories:
            lines.append(
                f"{'':>{len(self.name) + 2}}{cat:<22} {self.counts[cat + ':tried']:>5} "
                f"{self.counts[cat + ':rejected']:>8} {self.counts[cat + ':through']:>7}"
            )
        total = sum(v for k, v in self.counts.items() if k.endswith(":tried"))
        through = sum(v for k, v in self.counts.items() if k.endswith(":through"))
        lines.append(
            f"{'':>{len(self.name) + 2}}{'TOTAL':<22} {total:>5} {total - through:>8} {through:>7}"
        )
        lines.extend(f"  GOT THROUGH: {leak}" for leak in self.leaks[:20])
        table = "\n".join(lines)
        print(table)
        return table

    def assert_nothing_through(self) -> None:
        self.report()
        assert self.counts, f"{self.name}: nothing was tried"
        assert not self.leaks, f"{len(self.leaks)} hostile inputs got through: {self.leaks[:5]}"
