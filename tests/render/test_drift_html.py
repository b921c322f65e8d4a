"""drift.html opened in headless Chromium: self-contained, error-free, readable on a 390 px phone.

The report comes from the real drift engine on data built to stress the page: values in
the thousands and the millionths, NaN and infinity, integer-coded categories, more
categories than are drawn, a long column name and one with HTML in it.
"""

from __future__ import annotations

import re

import pytest

from mlops_ci.drift import html
from tests.unit.drift_helpers import drift_of

#: one browser per module: its tests share a worker under `--dist loadgroup`
pytestmark = pytest.mark.xdist_group("render-drift-html")


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    n = 4000
    codes = [str(c) for c in (1, 0, 2, 5, 3, 4)]
    ref = pd.DataFrame({
        "customer_id": np.arange(1, n + 1),
        "total_charges": rng.normal(1670, 1270, n),
        "learning_rate": rng.uniform(1e-7, 5e-6, n),
        "support_calls": rng.choice(codes, n, p=[.35, .3, .15, .1, .06, .04]),
        "city": rng.choice([f"city {i:02d}" for i in range(40)], n),
        "a_really_long_column_name_that_goes_on_and_on_without_any_break_at_all": rng.normal(0, 1, n),
        "<b>bold</b>": rng.normal(0, 1, n),
    })
    cur = ref.copy()
    cur["total_charges"] = cur["total_charges"] * 1.3
    cur.loc[:20, "total_charges"] = np.nan
    cur.loc[21:25, "total_charges"] = np.inf
    cur["support_calls"] = rng.choice(codes, n, p=[.2, .3, .2, .1, .1, .1])
    report = drift_of(ref, cur)
    path = tmp_path_factory.mktemp("drift") / "drift.html"
    path.write_text(html.render(report), encoding="utf-8")
    return path


@pytest.mark.parametrize("width", [390, 1280])
def test_drift_html_is_self_contained_error_free_and_fits_the_screen(browser, artifacts, page_file, width):
    page = browser.page(width=width, height=900)
    page.goto(page_file.as_uri())
    facts = page.evaluate("""({
        scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
        viewport: !!document.querySelector('meta[name=viewport]'),
        text: document.body.innerText,
        svgs: document.querySelectorAll('svg').length,
        calls: [...document.querySelectorAll('svg')].map(s => s.querySelector('title').textContent)
    })""")
    page.screenshot(artifacts / f"drift-{width}.png")
    assert page.console_errors == []
    assert page.requests == [page_file.as_uri()]  # nothing but the file itself: no fonts, scripts, images
    assert facts["viewport"] and facts["scroll"] <= facts["inner"], facts["scroll"]
    assert not re.search(r"\d[eE][+-]?\d", facts["text"]), "scientific notation on the page"
    assert re.search(r"mean 1,\d{3} · std 1,\d{3}", facts["text"])  # total_charges, plainly (not 1.67e+03)
    assert "<b>bold</b>" in facts["text"]  # shown as text, not as markup
    # "N values, top 3: …" names 3; "N values: …" names N
    for count, listed in re.findall(r"(\d+) values: ([^\n]*)", facts["text"]):
        assert len(re.findall(r"\(\d[\d,]*\)", listed)) == int(count), listed
    # integer-coded categories read in value order, and every bar is labelled
    assert "0, 1, 2, 3, 4, 5" in facts["calls"], facts["calls"]
    page.close()


def test_category_bars_are_labelled_in_value_order():
    hist = {"kind": "categorical", "labels": ["1", "0", "2", "10", "3 more"], "reference": [.4, .3, .1, .1, .1],
            "current": [.3, .3, .2, .1, .1]}
    picture = html.svg(hist)
    labels = re.findall(r">([^<>]+)<title>", picture)
    assert labels == ["0", "1", "2", "10", "3 more"]
    assert "<title>10: reference 10.0% · current 10.0%</title>" in picture
