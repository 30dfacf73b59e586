"""The page's figures from M1's History (METRICS.md), to the minor unit, and its HTML."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from ledger.dashboard.render import CONTENT_SECURITY_POLICY, STYLE_HASH, dashboard_page
from ledger.dashboard.view import (
    Dashboard,
    FinanceView,
    Receivables,
    aging_view,
    metrics_view,
)
from ledger.domain.reports import AgingBucket, AgingRow
from ledger.metrics.calendar import Month
from metrics_examples import EUR, LATER, m1_history

APRIL_END = date(2025, 4, 30)
SNAPSHOT = m1_history().as_known_at(LATER)


def test_m1_as_of_the_end_of_april_gives_its_month_end_mrr_for_twelve_months() -> None:
    view = metrics_view(SNAPSHOT, EUR, APRIL_END)
    assert str(view.series[0].month) == "2024-05" and len(view.series) == 12
    assert [p.mrr for p in view.series][-5:] == [123333, 173333, 178333, 170000, 172000]
    assert view.series[-1].on == APRIL_END
    assert (view.now.mrr, view.now.arr, view.now.customers, view.now.arpa) == (
        172000, 2064000, 3, 57333,
    )  # fmt: skip


def test_m1_movements_and_churn_of_february_to_april_are_on_the_page_model() -> None:
    view = metrics_view(SNAPSHOT, EUR, APRIL_END)
    feb, mar, apr = view.movements[-3:]
    assert (feb.expansion, feb.churn) == (20000, 15000)
    assert mar.contraction == 8333
    assert (apr.reactivation, apr.contraction, apr.net_change) == (12000, 10000, 2000)
    churn = {str(c.month): c for c in view.churn}
    assert churn["2025-02"].logo.percent == Decimal("33.33")
    assert churn["2025-02"].gross_mrr.percent == Decimal("8.65")
    assert churn["2025-04"].net_mrr.percent == Decimal("-1.18")


def test_retention_covers_the_twelve_months_to_as_of_s_month() -> None:
    view = metrics_view(SNAPSHOT, EUR, APRIL_END)
    assert view.retention.month == Month(2025, 4) and view.retention.months == 12
    # Nobody had MRR at the end of April 2024 (B started in June): no base, no percent.
    assert view.retention.cohort == () and view.retention.nrr.percent is None
    # A year on from M1's three-month cohort {A, B, C} at 173333: only C's 12000 is left.
    year = metrics_view(SNAPSHOT, EUR, date(2026, 1, 31)).retention
    assert [(a.account_id, a.mrr_start, a.mrr_end) for a in year.cohort] == [
        ("A", 50000, 0), ("B", 108333, 0), ("C", 15000, 12000),
    ]  # fmt: skip
    assert (year.nrr.numerator, year.nrr.denominator) == (12000, 173333)


def test_a_mid_month_as_of_ends_the_chart_on_that_day() -> None:
    view = metrics_view(SNAPSHOT, EUR, date(2025, 1, 9))
    assert (view.series[-1].on, view.series[-1].mrr) == (date(2025, 1, 9), 123333)
    assert view.series[-2].mrr == 123333  # end of December


def test_aging_view_totals_every_account_and_keeps_the_largest_ten() -> None:
    rows = [
        AgingRow(f"acct-{n:02d}", EUR, {AgingBucket.CURRENT: n * 100, AgingBucket.OVER_90: n},
                 customer_credit=1)
        for n in range(1, 16)
    ] + [AgingRow("other", "USD", {AgingBucket.CURRENT: 10**9}, 0)]  # fmt: skip
    view = aging_view(rows, EUR)
    assert view.accounts == 15 and view.customer_credit == 15
    assert view.totals[AgingBucket.CURRENT] == 100 * sum(range(1, 16))
    assert view.totals[AgingBucket.OVER_90] == sum(range(1, 16))
    assert [r.account_id for r in view.top] == [f"acct-{n:02d}" for n in range(15, 5, -1)]


def _page() -> str:
    finance = FinanceView(
        EUR, APRIL_END, Receivables(5000, 1200),
        aging_view([AgingRow("<A>", EUR, {AgingBucket.DAYS_1_30: 5000}, 1200)], EUR),
        None, None,
    )  # fmt: skip
    view = metrics_view(SNAPSHOT, EUR, APRIL_END)
    return dashboard_page(Dashboard(APRIL_END, EUR, ("EUR", "USD"), view, finance))


def test_the_page_shows_m1_s_april_mrr_in_major_units_and_links_each_table_s_csv() -> None:
    html = _page()
    assert re.search(r'id="mrr-now" data-value="172000">1,720.00<', html)
    assert re.search(r'id="arr-now" data-value="2064000">20,640.00<', html)
    for table in ("mrr", "movements", "churn", "retention", "ar-aging", "trial-balance",
                  "revenue"):  # fmt: skip
        assert f'href="/dashboard/csv/{table}?as_of=2025-04-30&amp;currency=EUR"' in html
    assert '<input type="date" id="as_of" name="as_of" value="2025-04-30">' in html
    assert '<option value="EUR" selected>EUR</option><option value="USD">USD</option>' in html
    assert html.count("<svg") >= 2 and 'class="chart line-chart"' in html


def test_the_page_names_no_other_host_runs_no_script_and_escapes_account_ids() -> None:
    html = _page()
    urls = re.findall(r'(?:href|src|action)="([^"]*)"', html)
    assert urls and all(u.startswith("/dashboard") for u in urls), urls
    # The SVG namespace is an identifier, never fetched; no other absolute URL appears.
    assert re.findall(r"https?://[^\"' ]+", html) == ["http://www.w3.org/2000/svg"] * html.count(
        'xmlns="http://www.w3.org/2000/svg"'
    )
    assert "<script" not in html
    assert "&lt;A&gt;" in html and "<A>" not in html
    assert f"style-src 'sha256-{STYLE_HASH}'" in CONTENT_SECURITY_POLICY
