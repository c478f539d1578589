"""The two pictures of the HTML report, as geometry for inline SVG (docs/process.md, "The post-mortem"):
the severity level over time (a step chart) and the managers' tenures (one bar per interval, labelled with
the person)."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.postmortem.wording import as_time, human

WIDTH = 880
LEFT, RIGHT, TOP, BOTTOM = 150, 24, 12, 34
ROW = 30
MINUTE = timedelta(minutes=1)
# Tick spacings a reader counts in, from seconds (a test incident) to weeks.
STEPS = (
    [timedelta(seconds=n) for n in (1, 2, 5, 10, 15, 30)]
    + [MINUTE * n for n in (1, 2, 5, 10, 15, 30)]
    + [timedelta(hours=n) for n in (1, 2, 3, 6, 12)]
    + [timedelta(days=n) for n in (1, 2, 7)]
)


@dataclass(frozen=True)
class Axis:
    """Time on x, from the declaration to the end (resolution, or now while open)."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, start: datetime, end: datetime) -> "Axis":
        return cls(start, max(end, start + timedelta(minutes=1)))

    def x(self, moment: datetime) -> float:
        share = (moment - self.start) / (self.end - self.start)
        return round(LEFT + min(max(share, 0.0), 1.0) * (WIDTH - LEFT - RIGHT), 1)

    def ticks(self, most: int = 8) -> list[tuple[float, str]]:
        """Round moments (every 5 min, 1 h, 1 d, …) across the axis, at most ``most`` of them."""
        span = self.end - self.start
        step = next((s for s in STEPS if span / s <= most - 1), STEPS[-1] * (span // (STEPS[-1] * (most - 1)) + 1))
        first = datetime.fromtimestamp(
            -(-self.start.timestamp() // step.total_seconds()) * step.total_seconds(), tz=UTC
        )
        days = self.end.date() != self.start.date()
        moments, moment = [], first
        while moment <= self.end:
            moments.append(moment)
            moment += step
        return [
            (self.x(m), m.strftime("%d %b %H:%M" if days else "%H:%M:%S" if step < MINUTE else "%H:%M"))
            for m in moments
        ]


@dataclass
class Chart:
    height: int
    ticks: list[tuple[float, str]]
    rows: list[tuple[float, str]] = field(default_factory=list)  # (y of the row's middle, label)
    path: str = ""
    bars: list[dict] = field(default_factory=list)
    gaps: list[tuple[float, float]] = field(default_factory=list)  # x ranges while resolved

    @property
    def width(self) -> int:
        return WIDTH

    @property
    def plot(self) -> tuple[int, int, int, int]:
        """x, y, width, height of the plotting area."""
        return LEFT, TOP, WIDTH - LEFT - RIGHT, self.height - TOP - BOTTOM


def axis(doc: dict) -> Axis:
    periods = doc["levels"]
    last = periods[-1]["to"] or doc["as_of"]
    return Axis.of(as_time(periods[0]["from"]), as_time(last))


def severity(doc: dict, level_names: dict[int, str]) -> Chart:
    """Level 1 (the most severe) at the top; a step at every change; resolved stretches shaded."""
    time = axis(doc)
    periods = doc["levels"]
    deepest = max([p["level"] for p in periods] + list(level_names))
    height = TOP + BOTTOM + ROW * deepest
    chart = Chart(
        height,
        time.ticks(),
        rows=[
            (TOP + ROW * (n - 0.5), f"Level {n} · {level_names[n]}" if n in level_names else f"Level {n}")
            for n in range(1, deepest + 1)
        ],
    )
    chart.path = " ".join(_step_path(time, periods))
    chart.gaps = _resolved_gaps(time, doc)
    return chart


def _step_path(time: Axis, periods: list[dict]) -> list[str]:
    path: list[str] = []
    for period in periods:
        y = TOP + ROW * (period["level"] - 0.5)
        start = time.x(as_time(period["from"]))
        end = time.x(as_time(period["to"]) if period["to"] else time.end)
        path.append(f"M {start} {y}" if not path else f"V {y}")
        path.append(f"H {end}")
    return path


def _resolved_gaps(time: Axis, doc: dict) -> list[tuple[float, float]]:
    """From each resolution to the reopening that followed it."""
    handling = next(s for s in doc["sections"] if s["id"] == "handling")["generated"]
    reopened = [as_time(r["at"]) for r in handling.get("reopenings", [])]
    resolutions = [as_time(e["at"]) for e in doc["timeline"] if e["type"] == "warroom.incident.resolved.v1"]
    gaps = []
    for resolved in resolutions:
        later = [r for r in reopened if r > resolved]
        if later:
            gaps.append((time.x(resolved), round(time.x(min(later)) - time.x(resolved), 1)))
    return gaps


def tenure(doc: dict) -> Chart:
    """One bar per tenure interval, in the order they began, each labelled with the person."""
    time = axis(doc)
    intervals = sorted(
        (
            (as_time(t["from"]), as_time(t["to"]), p["name"] or p["person"])
            for p in doc["participants"]
            for t in p["tenures"]
        ),
        key=lambda i: i[0],
    )
    chart = Chart(TOP + BOTTOM + ROW * max(len(intervals), 1), time.ticks())
    for row, (start, end, person) in enumerate(intervals):
        x0, x1 = time.x(start), time.x(end or time.end)
        y = TOP + ROW * row
        chart.rows.append((y + ROW / 2, person))
        chart.bars.append(
            {
                "x": x0,
                "y": y + 5,
                "width": max(round(x1 - x0, 1), 2.0),
                "height": ROW - 10,
                "label": person,
                "duration": human(((end or time.end) - start).total_seconds()),
                "ongoing": end is None,
            }
        )
    return chart
