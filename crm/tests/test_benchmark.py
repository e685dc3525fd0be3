from crm import benchmark


def _entry(name, requests=120, failures=2, rps=4.0, p50=81, p95=210, p99=380):
    return {"name": name, "requests": requests, "failures": failures, "rps": rps, "p50": p50, "p95": p95, "p99": p99}


LOCUST_STATS = {
    "pages": [_entry("company list (rep)"), _entry("forecast this quarter (admin)", 0, 0, 0.0, 0, 0, 0)],
    "total": _entry("Aggregated"),
    "groups": {"list": _entry("list"), "board": _entry("board", 0, 0, 0.0, 0, 0, 0)},
}


def test_a_rerun_replaces_only_its_own_section():
    document = "# Benchmarks\n"
    document = benchmark.replace_section(document, "10000", "small v1")
    document = benchmark.replace_section(document, "1000000", "large v1")

    document = benchmark.replace_section(document, "10000", "small v2")

    assert "small v2" in document and "small v1" not in document
    assert "large v1" in document
    assert benchmark.section_text(document, "1000000").strip() == "large v1"


def test_a_new_size_goes_before_the_larger_sizes_and_the_charts_before_every_size():
    document = "# Benchmarks\n"
    for key in ("10000", "1000000", "import"):
        document = benchmark.replace_section(document, key, f"{key} table")

    document = benchmark.replace_section(
        document, "5000", "5000 table", before=benchmark.size_section_after(document, 5000)
    )
    document = benchmark.replace_section(
        document, "50000", "50000 table", before=benchmark.size_section_after(document, 50000)
    )
    document = benchmark.replace_section(
        document, "2000000", "2000000 table", before=benchmark.size_section_after(document, 2000000)
    )
    document = benchmark.replace_section(document, "sizes", "chart", before=benchmark.section_keys(document)[0])

    assert benchmark.section_keys(document) == ["sizes", "5000", "10000", "50000", "1000000", "import", "2000000"]


def test_the_introduction_is_replaced_and_the_sections_kept():
    document = (
        "# Benchmarks\n\nOld words.\n\n## What dominates\n\nkept\n\n<!-- bench:5000 -->\nx\n<!-- /bench:5000 -->\n"
    )

    document = benchmark.replace_header(document, "# Benchmarks\n\nNew words.\n")

    assert "Old words" not in document and "New words." in document
    assert "## What dominates\n\nkept" in document and "<!-- bench:5000 -->" in document


def test_every_registered_page_names_a_role_a_kind_and_a_weight():
    pages = benchmark.pages()

    assert {"healthz", "login page", "dashboard", "company list (rep)", "company detail (rep)"} <= {
        p.name for p in pages
    }
    assert all(p.role in (*benchmark.ROLES, None) for p in pages)
    assert all(p.kind in benchmark.KINDS and p.weight >= 0 for p in pages)
    for role in benchmark.ROLES:
        assert any(p.role == role and p.weight for p in pages), f"no page in the {role}'s load"


def test_the_load_plan_leaves_out_pages_of_weight_zero_and_signed_out_pages():
    pages = [
        benchmark.Page("list", role="rep", url="/l/", kind="list", weight=3),
        benchmark.Page("alone", role="rep", url="/a/", kind="list", weight=0),
        benchmark.Page("board", role="manager", url="/b/", kind="board", weight=1),
        benchmark.Page("login", role=None, url="/login/", weight=1),
    ]
    targets = [(page, page.url) for page in pages]
    cookies = {role: {"sessionid": role} for role in benchmark.ROLES}

    plan = benchmark.locust_plan(targets, cookies, host="http://127.0.0.1:1")

    assert set(plan["roles"]) == {"rep", "manager"}
    assert plan["roles"]["rep"]["pages"] == [{"name": "list", "path": "/l/", "weight": 3, "group": "list"}]
    assert plan["roles"]["rep"]["weight"] == benchmark.ROLE_MIX["rep"]
    assert plan["roles"]["manager"]["cookies"] == {"sessionid": "manager"}


def test_rows_and_cells_come_from_the_largest_table_body_in_main():
    html = """
    <nav><table><tbody><tr><td>menu</td></tr><tr><td>x</td></tr><tr><td>y</td></tr></tbody></table></nav>
    <main>
      <table><thead><tr><th>a</th><th>b</th><th>c</th></tr></thead>
      <tbody><tr><td>1</td><td>2</td><td>3</td></tr><tr><td>4</td><td>5</td><td>6</td></tr></tbody></table>
      <table><tbody><tr><th>total</th><td>9</td></tr></tbody></table>
      <ul><li>not counted: a table was found</li></ul>
    </main>
    """

    assert benchmark.table_shape(html) == (2, 3)


def test_without_a_table_the_outermost_list_items_are_the_rows():
    html = """
    <aside><ul><li>nav</li><li>nav</li></ul></aside>
    <main><section><ol>
      <li><a href="/1">Deal one</a> <span>Acme</span> <span>¥ 1,000</span></li>
      <li><a href="/2">Deal two</a> <span>Globex</span> <ul><li>tag</li></ul></li>
    </ol></section></main>
    """

    assert benchmark.table_shape(html) == (2, 3)


def test_a_page_without_rows_has_none():
    assert benchmark.table_shape("<main><p>Sign in</p></main>") == (0, 0)
    assert benchmark.table_shape("<p>unclosed <b>tags <table><tr><td>x") == (0, 0)


def test_the_lean_page_renders_in_a_positive_time_that_grows_with_its_size():
    assert benchmark.lean_render_ms(1, 1, runs=3, warmups=1) > 0
    assert benchmark.lean_render_ms(1, 1, runs=5) < benchmark.lean_render_ms(200, 10, runs=5)


def test_locust_statistics_are_read_per_page_group_and_in_all():
    pages, total, groups = benchmark.parse_stats(LOCUST_STATS)

    assert [p.name for p in pages] == ["company list (rep)", "forecast this quarter (admin)"]
    assert (pages[0].requests, pages[0].failures, pages[0].p50, pages[0].p95, pages[0].p99) == (120, 2, 81, 210, 380)
    assert (total.requests, total.rps) == (120, 4.0)
    assert groups["list"].p95 == 210 and groups["board"].requests == 0


def test_the_results_table_has_a_row_per_page_and_a_total():
    pages, total, _groups = benchmark.parse_stats(LOCUST_STATS)

    table = benchmark.results_table(pages, total)

    assert table[2] == "| company list (rep) | 120 | 4.0 | 81 | 210 | 380 | 2 |"
    assert table[3] == "| forecast this quarter (admin) | 0 | 0.0 | 0 | 0 | 0 | 0 |"
    assert table[-1] == "| **all pages** | 120 | 4.0 | 81 | 210 | 380 | 2 |"


def test_the_server_time_table_marks_pages_over_budget():
    def timed(name, kind, ms, role="rep"):
        page = benchmark.Page(name, role=role, url="/", kind=kind)
        return benchmark.ServerTime(page=page, path="/", ms=ms, queries=7, rows=50, cells=8, lean_ms=20.0)

    table = benchmark.server_time_table(
        [
            timed("login page", "other", 4.0, role=None),
            timed("quick list", "list", 25.0),
            timed("slow list", "list", 45.0),
            benchmark.ServerTime(
                page=benchmark.Page("broken", role="rep", url="/", kind="list"),
                path="/",
                ms=0,
                queries=0,
                rows=0,
                cells=0,
                lean_ms=0,
                status=500,
            ),
        ]
    )

    assert table[2] == "| login page | other | 50 × 8 | 7 | 4.0 | 20.0 | 0.2 | baseline |"
    assert table[3] == "| quick list | list | 50 × 8 | 7 | 25.0 | 20.0 | 1.2 | ok |"
    assert table[4] == "| slow list | list | 50 × 8 | 7 | **45.0** | 20.0 | **2.2** | **over** |"
    assert table[5] == "| broken | list | – | – | – | – | – | **status 500** |"


def _process(proc, pid, parent, rss_kb, name="gunicorn: worker [crm.wsgi:application]"):
    (proc / str(pid)).mkdir()
    (proc / str(pid) / "stat").write_text(f"{pid} ({name}) S {parent} {pid} {pid} 0 -1\n")
    (proc / str(pid) / "status").write_text(f"Name:\tpython\nVmRSS:\t  {rss_kb} kB\nThreads:\t1\n")


def test_the_workers_memory_is_read_from_proc(tmp_path):
    _process(tmp_path, 42, 1, 50_000, name="python (master) x")
    _process(tmp_path, 43, 42, 100_000)
    _process(tmp_path, 44, 42, 110_000)
    _process(tmp_path, 45, 1, 999_999)

    assert benchmark.workers_rss(42, proc=tmp_path) == {43: 100_000, 44: 110_000}


def test_the_memory_table_shows_the_growth_and_a_restarted_worker():
    table = benchmark.memory_table({43: 102_400, 44: 102_400}, {43: 112_640, 46: 102_400})

    assert "| pid 43 | 100.0 | 110.0 | +10.0 |" in table
    assert "| pid 44 | 100.0 | – | (restarted) |" in table
    assert "| pid 46 | – | 100.0 | (restarted) |" in table


def test_the_numbers_of_each_size_can_be_read_back_from_the_document():
    document = benchmark.replace_section("# B\n", "5000", "text\n" + benchmark.data_comment({"companies": 5000}))
    document = benchmark.replace_section(document, "20000", benchmark.data_comment({"companies": 20000, "x": [1]}))

    assert benchmark.data_comments(document) == [{"companies": 5000}, {"companies": 20000, "x": [1]}]
