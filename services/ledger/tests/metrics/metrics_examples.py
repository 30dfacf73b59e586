"""METRICS.md's worked example M1 as a metrics History (EUR, cents), and small builders.

Each fact is recorded at noon UTC of the day it became known: a contract's lines
on the day its quote was accepted (or, for customers since 2024, their start),
an amendment on its effective date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from ledger.metrics.history import (
    BillingPeriod,
    History,
    LineStarted,
    PricedLine,
    QuantityChanged,
    QuoteAccepted,
    QuoteCreated,
    QuotePresented,
    TermStarted,
)

EUR = "EUR"
LATER = datetime(2030, 1, 1, tzinfo=UTC)  # "as corrected since": everything known


def D(text: str) -> date:
    """A date from ISO text."""
    return date.fromisoformat(text)


def at(text: str) -> datetime:
    """Noon UTC of an ISO day: when a fact of that day was recorded."""
    return datetime.combine(D(text), time(12), tzinfo=UTC)


def line(
    line_id: str,
    account: str,
    contract: str,
    period: BillingPeriod,
    unit_price: int,
    start: str,
    end: str,
    *,
    quantity: int = 1,
    recorded: str | None = None,
    currency: str = EUR,
) -> LineStarted:
    """A recurring line recorded on `recorded` (default its start)."""
    return LineStarted(
        at(recorded or start),
        line_id,
        account,
        currency,
        contract,
        period,
        unit_price,
        quantity,
        D(start),
        D(end),
    )


def m1_history() -> History:
    """A, B and C of M1 with A's quote."""
    return History(
        (
            # A: quote created 2024-12-20, accepted 2025-01-06; contract from 2025-01-10.
            QuoteCreated(at("2024-12-20"), "q-A", "A", EUR, "new", D("2024-12-20")),
            QuotePresented(at("2024-12-23"), "q-A", D("2024-12-23")),
            QuoteAccepted(
                at("2025-01-06"),
                "q-A",
                D("2025-01-06"),
                (PricedLine("month", 5000, 10),),  # SETUP one-time 100000 is in TCV only
                700000,
            ),
            TermStarted(at("2025-01-06"), "c-A", "A", EUR, D("2025-01-10"), D("2026-01-09"), "q-A"),
            line(
                "A-SEAT",
                "A",
                "c-A",
                "month",
                5000,
                "2025-01-10",
                "2026-01-09",
                quantity=10,
                recorded="2025-01-06",
            ),
            QuantityChanged(at("2025-02-15"), "A-SEAT", D("2025-02-15"), 14),
            QuantityChanged(at("2025-04-01"), "A-SEAT", D("2025-04-01"), 12),
            # B, customer since 2024: PLAN yearly, ADDON quarterly removed from 2025-03-20.
            TermStarted(at("2024-06-01"), "c-B", "B", EUR, D("2024-06-01"), D("2025-05-31")),
            line("B-PLAN", "B", "c-B", "year", 1200000, "2024-06-01", "2025-05-31"),
            line("B-ADDON", "B", "c-B", "quarter", 25000, "2024-06-01", "2025-05-31"),
            QuantityChanged(at("2025-03-20"), "B-ADDON", D("2025-03-20"), 0),
            # C, customer since 2024: half-yearly to 2025-01-31, not renewed; back 2025-04-05.
            TermStarted(at("2024-08-01"), "c-C1", "C", EUR, D("2024-08-01"), D("2025-01-31")),
            line("C-HALF", "C", "c-C1", "half_year", 90000, "2024-08-01", "2025-01-31"),
            TermStarted(at("2025-04-05"), "c-C2", "C", EUR, D("2025-04-05"), D("2026-04-04")),
            line("C-MONTH", "C", "c-C2", "month", 12000, "2025-04-05", "2026-04-04"),
        )
    )
