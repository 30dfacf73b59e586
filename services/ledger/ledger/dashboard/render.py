"""The dashboard's HTML: the page, the login form and the refusal, as text.

No template engine and no script: the page is complete as served (charts are inline
SVG from charts.py), its one stylesheet is inlined and allowed by its hash in the
Content-Security-Policy, and every link and form points at the service itself.
Every text from data goes through `escape`.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from urllib.parse import urlencode

from ledger.dashboard.charts import line_chart, stacked_bar_chart
from ledger.dashboard.money import major, percent
from ledger.dashboard.view import Dashboard
from ledger.domain.reports import AgingBucket
from ledger.metrics.movements import MovementKind

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#1d2733;background:#f4f6f8}
header{background:#1d2733;color:#fff;padding:12px 24px;display:flex;gap:24px;
align-items:center;flex-wrap:wrap}
header h1{font-size:18px;margin:0 auto 0 0}
header form{display:flex;gap:8px;align-items:center;margin:0}
main{padding:16px 24px;display:grid;grid-template-columns:repeat(auto-fit,minmax(760px,1fr));
gap:16px}
section{background:#fff;border-radius:6px;padding:12px 16px;box-shadow:0 1px 2px #0002}
h2{font-size:15px;margin:4px 0 10px}
.kpis{display:flex;gap:24px;flex-wrap:wrap}
.kpi{min-width:120px}.kpi .value{font-size:22px;font-weight:600}
.kpi .name{font-size:12px;color:#5a6877}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{padding:3px 8px;border-bottom:1px solid #e3e7eb;text-align:right}
th:first-child,td:first-child{text-align:left}
a.csv{font-size:12px;float:right}
.legend span{display:inline-block;margin-right:12px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
.error{color:#b00020}
.login{max-width:360px;margin:80px auto;background:#fff;padding:24px;border-radius:6px}
.login input[type=password]{width:100%;box-sizing:border-box;margin:8px 0}
"""
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
# Nothing but this page's own stylesheet, its images inline, its forms to the service.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

MOVEMENT_COLOURS = {
    MovementKind.NEW: "#2e7d32",
    MovementKind.EXPANSION: "#66bb6a",
    MovementKind.REACTIVATION: "#26a69a",
    MovementKind.CONTRACTION: "#ef8a65",
    MovementKind.CHURN: "#c62828",
}
REVENUE_COLOURS = {"subscription": "#1f6fb8", "one_time": "#8fb8e0"}
LOGIN_PATH = "/dashboard/login"
LOGOUT_PATH = "/dashboard/logout"


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )


def login_page(error: str | None = None, keep: Mapping[str, str] | None = None) -> str:
    """The form that POSTs a key to the service (which keeps it in a cookie); `keep` are the
    page's parameters (as_of, currency) to come back to, as hidden fields."""
    problem = f'<p class="error" id="login-error">{escape(error)}</p>' if error else ""
    hidden = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in (keep or {}).items()
    )
    return _document(
        "Revline finance dashboard: sign in",
        '<div class="login"><h1>Finance dashboard</h1>'
        f"<p>Sign in with a finance or admin API key.</p>{problem}"
        f'<form method="post" action="{LOGIN_PATH}" id="login">{hidden}'
        '<label for="key">API key</label>'
        '<input type="password" id="key" name="key" autocomplete="current-password" required>'
        '<button type="submit">Sign in</button></form></div>',
    )


def refused_page(role: str) -> str:
    """What a key of another role sees: a 403 and the way out."""
    return _document(
        "Revline finance dashboard: forbidden",
        '<div class="login"><h1>Forbidden</h1>'
        f'<p id="refused">The role {escape(role)} may not read the finance dashboard '
        "(finance and admin may).</p>"
        f'<form method="post" action="{LOGOUT_PATH}"><button type="submit">Sign out</button>'
        "</form></div>",
    )


def csv_link(table: str, page: Dashboard) -> str:
    """The link to a table's CSV download, with the page's date, currency and known_on."""
    query = urlencode(page.query)
    return (
        f'<a class="csv" id="csv-{escape(table)}" href="/dashboard/csv/{escape(table)}?'
        f'{escape(query)}" download>CSV</a>'
    )


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], table_id: str) -> str:
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>'


def _kpi(kpi_id: str, name: str, shown: str, value: object) -> str:
    return (
        f'<div class="kpi"><div class="value" id="{kpi_id}" data-value="{escape(str(value))}">'
        f'{escape(shown)}</div><div class="name">{escape(name)}</div></div>'
    )


def _legend(colours: dict[str, str]) -> str:
    items = "".join(
        f'<span><svg width="10" height="10"><rect width="10" height="10" fill="{c}"/></svg> '
        f"{escape(k)}</span>"
        for k, c in colours.items()
    )
    return f'<div class="legend">{items}</div>'


def _header(page: Dashboard) -> str:
    options = "".join(
        f'<option value="{escape(c)}"{" selected" if c == page.currency else ""}>'
        f"{escape(c)}</option>"
        for c in page.currencies
    )
    known = page.known_on.isoformat() if page.known_on else ""
    return (
        "<header><h1>Revline finance dashboard</h1>"
        '<form method="get" action="/dashboard" id="view">'
        '<label for="as_of">As of</label>'
        f'<input type="date" id="as_of" name="as_of" value="{page.as_of.isoformat()}">'
        f'<label for="currency">Currency</label><select id="currency" name="currency">'
        f"{options}</select>"
        '<label for="known_on" title="The metrics as known at the end of that day; '
        'empty: as known now">As known on</label>'
        f'<input type="date" id="known_on" name="known_on" value="{known}">'
        '<button type="submit">Show</button></form>'
        f'<form method="post" action="{LOGOUT_PATH}" id="logout">'
        '<button type="submit">Sign out</button></form></header>'
    )


def _mrr_section(page: Dashboard) -> str:
    m, c = page.metrics, page.currency
    chart = line_chart(
        f"MRR, 12 months to {page.as_of} ({c})", [(str(p.month), p.mrr) for p in m.series], c
    )
    kpis = (
        _kpi("mrr-now", f"MRR on {page.as_of} ({c})", major(m.now.mrr, c), m.now.mrr)
        + _kpi("arr-now", f"ARR ({c})", major(m.now.arr, c), m.now.arr)
        + _kpi("customers-now", "Customers", str(m.now.customers), m.now.customers)
        + _kpi(
            "arpa-now",
            f"ARPA ({c})",
            "\u2014" if m.now.arpa is None else major(m.now.arpa, c),
            "" if m.now.arpa is None else m.now.arpa,
        )
    )
    rows = [(str(p.month), p.on.isoformat(), major(p.mrr, c)) for p in m.series]
    known = (
        f'<p id="known-note">Metrics as known at the end of {page.known_on}.</p>'
        if page.known_on
        else ""
    )
    return (
        f'<section id="mrr"><h2>MRR and ARR {csv_link("mrr", page)}</h2>{known}'
        f'<div class="kpis">{kpis}</div><figure id="chart-mrr">{chart.svg()}</figure>'
        f"<details><summary>MRR by month</summary>"
        f"{_table(('month', 'on', 'MRR'), rows, 'table-mrr')}</details></section>"
    )


def _movements_section(page: Dashboard) -> str:
    c = page.currency
    signed = {MovementKind.CONTRACTION: -1, MovementKind.CHURN: -1}
    columns = [
        (
            str(m.month),
            {k.value: signed.get(k, 1) * getattr(m, k.value) for k in MovementKind},
        )
        for m in page.metrics.movements
    ]
    chart = stacked_bar_chart(
        f"MRR movements by month ({c})",
        columns,
        [k.value for k in MovementKind],
        {k.value: v for k, v in MOVEMENT_COLOURS.items()},
        c,
    )
    rows = [
        (
            str(m.month),
            *(major(getattr(m, k.value), c) for k in MovementKind),
            major(m.net_change, c),
        )
        for m in page.metrics.movements
    ]
    head = ("month", *(k.value for k in MovementKind), "net change")
    return (
        f'<section id="movements"><h2>MRR movements {csv_link("movements", page)}</h2>'
        f"{_legend({k.value: v for k, v in MOVEMENT_COLOURS.items()})}"
        f'<figure id="chart-movements">{chart.svg()}</figure>'
        f"{_table(head, rows, 'table-movements')}</section>"
    )


def _churn_section(page: Dashboard) -> str:
    r = page.metrics.retention
    kpis = (
        _kpi("nrr", f"NRR, {r.months} months", percent(r.nrr.percent), r.nrr.percent or "")
        + _kpi("grr", f"GRR, {r.months} months", percent(r.grr.percent), r.grr.percent or "")
        + _kpi("cohort", f"Cohort at the end of {r.month.plus(-r.months)}", str(len(r.cohort)),
               len(r.cohort))
    )  # fmt: skip
    rows = [
        (
            str(m.month),
            f"{m.logo.numerator}/{m.logo.denominator}",
            percent(m.logo.percent),
            percent(m.gross_mrr.percent),
            percent(m.net_mrr.percent),
        )
        for m in page.metrics.churn
    ]
    head = ("month", "logos lost", "logo churn", "gross MRR churn", "net MRR churn")
    return (
        f'<section id="churn"><h2>Churn and retention {csv_link("churn", page)}</h2>'
        f'<div class="kpis">{kpis}</div>{_table(head, rows, "table-churn")}'
        f"<p>{csv_link('retention', page)}Retention cohort: accounts with MRR at the end of "
        f"{r.month.plus(-r.months)}, their MRR then and at the end of {r.month}.</p></section>"
    )


def _receivables_section(page: Dashboard) -> str:
    f, c = page.finance, page.currency
    kpis = (
        _kpi("open-due", f"Open invoices due ({c})", major(f.receivables.open_amount_due, c),
             f.receivables.open_amount_due)
        + _kpi("unapplied", f"Unapplied cash ({c})", major(f.receivables.unapplied_credit, c),
               f.receivables.unapplied_credit)
        + _kpi("receivables-net", f"Net receivables ({c})", major(f.receivables.net, c),
               f.receivables.net)
    )  # fmt: skip
    buckets = [b.value for b in AgingBucket]
    totals = [("all accounts", *(major(f.aging.totals[b], c) for b in AgingBucket),
               major(f.aging.total, c), major(f.aging.customer_credit, c))]  # fmt: skip
    top = [
        (row.account_id, *(major(row.buckets.get(b, 0), c) for b in AgingBucket),
         major(row.total, c), major(row.customer_credit, c))
        for row in f.aging.top
    ]  # fmt: skip
    head = ("account", *buckets, "total", "customer credit")
    return (
        f'<section id="receivables"><h2>Receivables and AR aging '
        f"{csv_link('ar-aging', page)}</h2>"
        f'<div class="kpis">{kpis}</div>{_table(head, totals, "table-aging-totals")}'
        f"<p>The {len(f.aging.top)} accounts owing the most of {f.aging.accounts} "
        "(every account in the CSV):</p>"
        f"{_table(head, top, 'table-aging-top')}</section>"
    )


def _trial_balance_section(page: Dashboard) -> str:
    tb, c = page.finance.trial_balance, page.currency
    if tb is None:
        body = f"<p>No entries in {escape(c)} on or before {page.as_of}.</p>"
    else:
        rows = [
            (f"{r.account.value} {r.account.label}", major(r.debit, c), major(r.credit, c))
            for r in tb.rows
        ]
        rows.append(("Total", major(tb.total_debit, c), major(tb.total_credit, c)))
        body = _table(("ledger account", "debit", "credit"), rows, "table-trial-balance")
    return (
        f'<section id="trial-balance"><h2>Trial balance {csv_link("trial-balance", page)}</h2>'
        f"{body}</section>"
    )


def _revenue_section(page: Dashboard) -> str:
    rev, c = page.finance.revenue, page.currency
    if rev is None:
        return (
            f'<section id="revenue"><h2>Revenue by month {csv_link("revenue", page)}</h2>'
            f"<p>No revenue in {escape(c)} in the 12 months to {page.as_of}.</p></section>"
        )
    chart = stacked_bar_chart(
        f"Recognised revenue by service month ({c})",
        [(m.month.strftime("%Y-%m"), {"subscription": m.subscription, "one_time": m.one_time})
         for m in rev.months],
        ["subscription", "one_time"],
        REVENUE_COLOURS,
        c,
    )  # fmt: skip
    rows = [
        (m.month.strftime("%Y-%m"), major(m.subscription, c), major(m.one_time, c),
         major(m.subscription + m.one_time, c))
        for m in rev.months
    ]  # fmt: skip
    return (
        f'<section id="revenue"><h2>Revenue by month {csv_link("revenue", page)}</h2>'
        + '<div class="kpis">'
        + _kpi("deferred", f"Deferred revenue on {page.as_of} ({c})",
               major(rev.deferred_at_to, c), rev.deferred_at_to)
        + f"</div>{_legend(REVENUE_COLOURS)}<figure id=\"chart-revenue\">{chart.svg()}</figure>"
        + _table(("service month", "subscription", "one-time", "total"), rows, "table-revenue")
        + "</section>"
    )  # fmt: skip


def dashboard_page(page: Dashboard) -> str:
    """The whole dashboard of one currency as of one date."""
    body = (
        _header(page)
        + "<main>"
        + _mrr_section(page)
        + _movements_section(page)
        + _churn_section(page)
        + _receivables_section(page)
        + _trial_balance_section(page)
        + _revenue_section(page)
        + "</main>"
    )
    return _document(f"Revline finance dashboard, {page.currency} as of {page.as_of}", body)
