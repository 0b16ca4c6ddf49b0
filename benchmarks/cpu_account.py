"""CPU seconds per process group during a load run, read from /proc (Linux only).

Latency on a shared 2-core machine depends on everyone else's load; CPU seconds per request do
not (much), so they show where the cores go: the load generator, each API worker, the web app,
the AI worker, this run's PostgreSQL backends (found by the database name in their process
title), PgBouncer. A sampler thread reads ``/proc/<pid>/stat`` every ``interval`` seconds so
that processes which start or exit during the run are counted too; the machine's total busy
time (``/proc/stat``) gives what everything else on the machine used meanwhile.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PROC = Path("/proc")


def process_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user+system CPU seconds) of ``pid``, None if it is gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    rest = raw[raw.rindex(")") + 2 :].split()
    return int(rest[1]), (int(rest[11]) + int(rest[12])) / TICK


def _cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def machine_busy_seconds() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores, idle and iowait excluded)."""
    fields = [int(x) for x in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / TICK


@dataclass
class CpuAccount:
    """Groups are process trees (``roots``: name -> pid) or matchers on the command line."""

    roots: dict[str, int] = field(default_factory=dict)
    matchers: dict[str, Callable[[str], bool]] = field(default_factory=dict)
    interval: float = 0.5
    _first: dict[int, float] = field(default_factory=dict)
    _last: dict[int, float] = field(default_factory=dict)
    _group: dict[int, str] = field(default_factory=dict)
    _cmd: dict[int, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _machine: tuple[float, float] = (0.0, 0.0)
    _wall: tuple[float, float] = (0.0, 0.0)

    def _sample(self, *, initial: bool = False) -> None:
        procs: dict[int, tuple[int, float]] = {}
        for entry in PROC.iterdir():
            if entry.name.isdigit() and (st := process_stat(int(entry.name))) is not None:
                procs[int(entry.name)] = st
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in procs.items():
            children.setdefault(ppid, []).append(pid)
        for name, root in self.roots.items():
            stack = [root]
            while stack:
                pid = stack.pop()
                if pid in procs:
                    self._group.setdefault(pid, name)
                    stack.extend(children.get(pid, []))
        for pid in procs:
            if pid not in self._group and pid not in self._cmd:
                cmd = self._cmd[pid] = _cmdline(pid)
                for name, match in self.matchers.items():
                    if match(cmd):
                        self._group[pid] = name
                        break
        for pid, (_, cpu) in procs.items():
            if pid in self._group:
                # A process born after the start used all its CPU during the run.
                self._first.setdefault(pid, cpu if initial else 0.0)
                self._last[pid] = cpu

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> None:
        self._machine = (machine_busy_seconds(), 0.0)
        self._wall = (time.monotonic(), 0.0)
        self._sample(initial=True)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._sample()
        self._machine = (self._machine[0], machine_busy_seconds())
        self._wall = (self._wall[0], time.monotonic())
        self._stop.set()
        if self._thread:
            self._thread.join()

    def per_process(self) -> list[tuple[str, int, float]]:
        """(group, pid, CPU seconds) of every process that used CPU, group by group."""
        rows = [
            (self._group[pid], pid, self._last[pid] - self._first[pid])
            for pid in self._last
            if self._last[pid] > self._first[pid]
        ]
        return sorted(rows)

    def per_group(self) -> dict[str, float]:
        out = {name: 0.0 for name in [*self.roots, *self.matchers]}
        for name, _pid, cpu in self.per_process():
            out[name] += cpu
        return out

    @property
    def wall_seconds(self) -> float:
        return self._wall[1] - self._wall[0]

    @property
    def machine_seconds(self) -> float:
        return self._machine[1] - self._machine[0]


def report(account: CpuAccount, requests: int, detail: set[str]) -> list[str]:
    """Lines of the CPU table; groups named in ``detail`` also get one line per process."""
    seconds = account.wall_seconds or 1.0
    groups = account.per_group()
    ours = sum(groups.values())
    machine = account.machine_seconds
    per_req = (lambda cpu: f"{1000 * cpu / requests:8.2f}") if requests else (lambda _: "     n/a")
    lines = [
        f"{'process group':40} {'CPU s':>7} {'cores':>6} {'CPU ms/req':>10}",
        "-" * 66,
    ]
    by_pid = account.per_process()
    for name, cpu in groups.items():
        count = sum(1 for group, _pid, _cpu in by_pid if group == name)
        label = f"{name} ({count} proc)"
        lines.append(f"{label:40} {cpu:7.1f} {cpu / seconds:6.2f} {per_req(cpu):>10}")
        if name in detail:
            for group, pid, pcpu in by_pid:
                if group == name:
                    lines.append(f"  pid {pid:<34} {pcpu:7.1f} {pcpu / seconds:6.2f}")
    lines.append(f"{'all of this run':40} {ours:7.1f} {ours / seconds:6.2f} {per_req(ours):>10}")
    other = max(0.0, machine - ours)
    lines.append(f"{'rest of the machine (other work)':40} {other:7.1f} {other / seconds:6.2f}")
    lines.append(f"{'machine total':40} {machine:7.1f} {machine / seconds:6.2f}")
    return lines
