"""Charts drawn on the server as inline SVG: the geometry here, the markup in templates/_charts.html.

No script and no outside host: a chart is a few rectangles and labels in a `viewBox`, so it scales
to the card it sits in (360 px phones to 1440 px desks). Every chart also gets a title and a plain
table of the same numbers in the page (screen readers, print, and anyone who prefers figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH = 340  # viewBox units; the SVG scales to its box
ROW = 30  # height of one horizontal bar's row
FONT = 15  # px at scale 1 (app.css sets it on svg.chart)
VALUE = 56  # room for the value right of a bar
COLUMN_AREA = 130  # height of the columns' area in a column chart
PAD = 6


@dataclass(frozen=True)
class Mark:
    """One bar: its rectangle, its label and its value as text, with their positions."""

    label: str
    text: str
    x: float
    y: float
    width: float
    height: float
    label_x: float
    label_y: float
    text_x: float
    text_y: float
    css: str = ""


@dataclass(frozen=True)
class Chart:
    """A chart's size and marks; `kind` is `bars` (horizontal) or `columns` (vertical)."""

    kind: str
    width: int
    height: int
    marks: list[Mark] = field(default_factory=list)
    baseline: float = 0.0  # x of the bars' origin, or y of the columns' floor


def text_width(text: str) -> float:
    """About how wide `text` is drawn, erring wide: a Chinese character is a square, a Latin one under two thirds."""
    return sum(FONT if ord(c) > 0x2E7F else FONT * 0.68 for c in text)


def bars(items: Sequence[tuple[str, float, str, str]], *, top: float | None = None) -> Chart:
    """Horizontal bars: (label, value, value as text, css class) each; `top` is full length (default: the largest)."""
    most = top if top is not None else max((v for _, v, _, _ in items), default=0)
    # Room for the longest label (English ones are longer), at most half the width.
    label_room = min(max((text_width(label) for label, *_ in items), default=0) + 2 * PAD, WIDTH / 2)
    span = WIDTH - label_room - VALUE
    marks = []
    for i, (label, value, text, css) in enumerate(items):
        length = span * value / most if most > 0 else 0.0
        y = PAD + i * ROW
        marks.append(Mark(label, text, label_room, y + 4, round(length, 1), ROW - 10, label_room - 8,
                          y + ROW / 2 + 1, round(label_room + length + 6, 1), y + ROW / 2 + 1, css))
    return Chart("bars", WIDTH, int(PAD * 2 + ROW * len(items)), marks, label_room)


def columns(items: Sequence[tuple[str, int, str]]) -> Chart:
    """Vertical columns: (label under it, value, value as text above it) each, scaled to the largest value."""
    most = max((v for _, v, _ in items), default=0)
    slot = (WIDTH - 2 * PAD) / max(len(items), 1)
    floor = PAD + 18 + COLUMN_AREA
    marks = []
    for i, (label, value, text) in enumerate(items):
        height = COLUMN_AREA * value / most if most > 0 else 0.0
        x = PAD + i * slot
        middle = x + slot / 2
        marks.append(Mark(label, text, round(x + slot * 0.2, 1), round(floor - height, 1), round(slot * 0.6, 1),
                          round(height, 1), middle, floor + 18, middle, round(floor - height - 5, 1)))
    return Chart("columns", WIDTH, int(floor + 26), marks, floor)
