"""The dashboard's SVG charts: bars and columns are drawn to scale, and nothing is drawn for zero."""

from pytest import approx

from services.web.charts import WIDTH, bars, columns


def test_bars_are_drawn_to_the_scale_asked_for():
    chart = bars([("入户走访", 50.0, "50.0%", ""), ("谈心谈话", 100.0, "100.0%", ""), ("全部达标", 0.0, "0.0%", "all")],
                 top=100)
    half, full, none = chart.marks
    assert full.width == approx(2 * half.width, abs=0.1) and none.width == 0
    assert full.x + full.width <= WIDTH and half.label_x < half.x, "labels sit left of the bars, inside the chart"
    assert [m.text for m in chart.marks] == ["50.0%", "100.0%", "0.0%"] and none.css == "all"


def test_bars_without_a_top_scale_to_the_largest_and_make_room_for_long_labels():
    chinese = bars([("高", 1, "1", "high"), ("低", 3, "3", "low")])
    english = bars([("Heart-to-heart talk", 1, "1", ""), ("Letter", 3, "3", "")])
    assert chinese.marks[1].width == approx(3 * chinese.marks[0].width, abs=0.2)
    assert english.baseline > chinese.baseline, "a longer label pushes the bars right"
    assert english.baseline <= WIDTH / 2


def test_columns_rise_in_proportion_from_one_floor_and_nothing_is_drawn_for_an_empty_semester():
    chart = columns([("9月", 2, "2"), ("10月", 4, "4"), ("11月", 0, "0")])
    low, high, empty = chart.marks
    assert high.height == approx(2 * low.height, abs=0.1) and empty.height == 0
    assert low.y + low.height == approx(chart.baseline, abs=0.1) and high.y + high.height == approx(chart.baseline)
    assert low.x < high.x < empty.x and empty.x + empty.width <= WIDTH
    assert all(m.height == 0 for m in columns([("9月", 0, "0"), ("10月", 0, "0")]).marks)
