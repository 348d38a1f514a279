"""What the host took from this machine during a measurement: CPU time stolen by the hypervisor.

On a virtual machine the 1-minute load average counts only this machine's own work; when the host
runs other guests, the time this machine's runnable threads wait for a physical core is counted by
the kernel as *steal* (``/proc/stat``, the eighth value of the ``cpu`` line; proc(5)). A run that
saw 20 % steal was slowed by the host whatever the load average said, so the side-by-side harnesses
record it with every run.
"""

from __future__ import annotations

from pathlib import Path


def cpu_ticks() -> tuple[int, int]:
    """(steal, all) clock ticks of every CPU since boot, from ``/proc/stat``; (0, 0) where there is none."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0, 0
    ticks = [int(x) for x in fields[:8]]  # user nice system idle iowait irq softirq steal (guest time is inside user)
    return (ticks[7] if len(ticks) > 7 else 0), sum(ticks)


def steal_share(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    """Share of the CPU time between two :func:`cpu_ticks` that the hypervisor gave to other guests [-]; None
    when no tick passed (or no ``/proc/stat``)."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else None


def percent(share: float | None) -> str:
    """A share as a percentage; "n/a" where none was recorded."""
    return "n/a" if share is None else f"{100 * share:.0f} %"


def percent_range(shares: list[float | None]) -> str:
    """The range of the shares recorded, as percentages; "n/a" where none was."""
    known = [x for x in shares if x is not None]
    return f"{100 * min(known):.0f}–{100 * max(known):.0f} %" if known else "n/a"
