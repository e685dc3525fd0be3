from defusedxml import ElementTree as ET

from crm import bench_chart, benchmark
from crm.management.commands.bench import latency_chart, size_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_the_chart_is_valid_svg_with_a_line_and_a_legend_entry_per_series():
    svg = bench_chart.line_chart(
        title="p95 latency under load, 5,000 companies",
        x_label="concurrent users",
        y_label="p95 latency (ms)",
        x_values=["1", "10", "50", "8, no think"],
        series={"lists": [120, 340, 900, 1500], "board & forecast": [400, None, 2100, 3000]},
    )

    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    groups = root.findall(f"{SVG}g")
    assert [g.get("data-name") for g in groups] == ["lists", "board & forecast"]
    assert len(groups[0].findall(f"{SVG}polyline")[0].get("points").split()) == 4
    # The missing point is left out, not drawn at zero: 3 points and one legend marker.
    assert len(groups[1].findall(f"{SVG}circle")) == 4
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"concurrent users", "p95 latency (ms)", "lists", "board & forecast", "8, no think"} <= set(texts)
    # The y axis reaches a round number above the highest point, in round steps.
    assert {"0", "1000", "2000", "3000", "4000", "5000"} <= set(texts)


def test_the_y_axis_ends_on_a_round_number():
    assert bench_chart.nice_ceiling(0) == 1
    assert bench_chart.nice_ceiling(3) == 5
    assert bench_chart.nice_ceiling(1500) == 2000
    assert bench_chart.nice_ceiling(2100) == 2500
    assert bench_chart.nice_ceiling(100) == 100


def _level(users, think, p95s):
    groups = {g: benchmark.PageStats(g, 10, 0, 1.0, p95 / 2, p95, p95) for g, p95 in p95s.items()}
    total = benchmark.PageStats("Aggregated", 10, 0, 1.0, 1, 1, 1)
    return benchmark.Level(f"{users}", users, think, 30, [], total, groups)


def test_the_latency_chart_has_a_line_per_page_group_over_the_levels():
    levels = [
        _level(1, 1.0, {"list": 90, "board": 300}),
        _level(10, 1.0, {"list": 200, "board": 600, "search": 150}),
        _level(8, 0, {"list": 900, "board": 2000, "search": 700}),
    ]

    root = ET.fromstring(latency_chart(5000, levels))

    assert [g.get("data-name") for g in root.findall(f"{SVG}g")] == ["lists", "searches", "board and forecast"]
    assert {"1", "10", "8, no think"} <= {t.text for t in root.iter(f"{SVG}text")}


def test_the_size_chart_has_a_point_per_size_and_page_group():
    sizes = [
        {"companies": 5000, "server_ms": {"list": 90.0, "board": 400.0}},
        {"companies": 1000000, "server_ms": {"list": 120.0, "detail": 80.0}},
    ]

    root = ET.fromstring(size_chart(sizes))

    series = {g.get("data-name"): g for g in root.findall(f"{SVG}g")}
    assert list(series) == ["lists", "detail pages", "board and forecast"]
    assert len(series["lists"].findall(f"{SVG}polyline")) == 1
    assert not series["detail pages"].findall(f"{SVG}polyline")  # one size only: a point, no line
    assert {"5,000", "1,000,000", "companies"} <= {t.text for t in root.iter(f"{SVG}text")}
