"""The campaign's timeline: phases as bars on a date axis, deadlines as marks."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from campaigns.models import Campaign, Deadline, Phase


@dataclass
class Bar:
    phase: Phase
    start: datetime.date | None
    end: datetime.date | None
    left: float = 0.0  # percent of the axis
    width: float = 0.0
    open_ended: bool = False
    current: bool = False


@dataclass
class Mark:
    deadline: Deadline
    left: float
    passed: bool


@dataclass
class Timeline:
    start: datetime.date | None
    end: datetime.date | None
    bars: list[Bar]
    marks: list[Mark]
    today_left: float | None


def timeline(
    campaign: Campaign, phases: list[Phase], deadlines: list[Deadline], on: datetime.date
) -> Timeline:
    dated = [p for p in phases if not p.to_be_announced and (p.start() or p.ends_on)]
    days = [d for p in dated for d in (p.start(), p.ends_on) if d] + [d.due_on for d in deadlines]
    if not days:
        return Timeline(None, None, [Bar(p, None, None) for p in phases], [], None)
    first, last = min(days), max(days)
    span = max((last - first).days + 1, 1)

    def at(day: datetime.date) -> float:
        return round(100 * (day - first).days / span, 2)

    bars = []
    for phase in phases:
        start = phase.start()
        if phase.to_be_announced or not (start or phase.ends_on):
            bars.append(Bar(phase, None, None))
            continue
        begin = start or phase.ends_on
        end = phase.ends_on or last
        left = at(begin)
        width = max(round(100 * ((end - begin).days + 1) / span, 2), 1.0)
        bars.append(
            Bar(
                phase,
                start,
                phase.ends_on,
                left,
                min(width, 100 - left),
                open_ended=phase.ends_on is None,
                current=phase.is_current(on),
            )
        )
    marks = [Mark(d, at(d.due_on), d.due_on < on) for d in deadlines]
    today_left = at(on) if first <= on <= last else None
    return Timeline(first, last, bars, marks, today_left)
