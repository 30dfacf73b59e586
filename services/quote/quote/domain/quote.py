"""Pure rules of the quote aggregate: line pricing, totals and the status machine."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal

from revline_pricing.calendar import term_end
from revline_pricing.periods import PERIOD_MONTHS, billing_spans
from revline_pricing.proration import net_unit_price, span_amount

from quote.domain.errors import CurrencyMismatch, InvalidLine, InvalidTransition, UnknownProduct

ChargeType = Literal["recurring", "one_time"]

# The largest amount a quote may carry, in minor units (10 trillion USD): every
# amount then fits a 64-bit column with room for downstream sums.
MAX_AMOUNT = 10**15

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Product:
    """A price-book entry; unit_price is the list price in the currency's minor units.

    A recurring product has a billing_period (a key of PERIOD_MONTHS); a one-time one has none.
    """

    sku: str
    name: str
    currency: str
    unit_price: int
    charge_type: ChargeType
    billing_period: str | None


@dataclass(frozen=True, slots=True)
class QuoteLine:
    """A priced quote line; all amounts in minor units.

    net_unit_price is the list price after the discount, rounded once; amount_per_period
    is net_unit_price x quantity (for a one-time line, its whole amount). subscription_id
    is set on an amendment line that changes an existing subscription's quantity.
    """

    sku: str
    quantity: int
    list_price: int
    discount_percent: Decimal
    net_unit_price: int
    amount_per_period: int
    charge_type: ChargeType
    billing_period: str | None
    subscription_id: str | None


@dataclass(frozen=True, slots=True)
class LineRequest:
    """A quote line as asked for: a SKU, a quantity, and optional price and discount."""

    sku: str
    quantity: int
    unit_price: int | None = None
    discount_percent: Decimal | None = None
    subscription_id: str | None = None


def price_line(
    product: Product,
    quantity: int,
    unit_price_override: int | None,
    discount_percent: Decimal | None,
    subscription_id: str | None,
) -> QuoteLine:
    """Price one line of `product`: list price (override, else the product's), less discount.

    The net unit price is rounded half up once per unit, then multiplied by the quantity
    (W5: 1001 at 50% -> 501, x 3 -> 1503). A quantity of 0 is accepted only with a
    subscription_id (an amendment removing a subscription).
    Raises InvalidLine for a negative quantity or price, a discount outside 0..100, or a
    product whose charge type and billing period disagree.
    """
    if quantity < 0 or (quantity == 0 and subscription_id is None):
        raise InvalidLine("quantity", f"must be positive, got {quantity}")
    list_price = product.unit_price if unit_price_override is None else unit_price_override
    if list_price < 0:
        raise InvalidLine("unit_price", f"must not be negative, got {list_price}")
    discount = Decimal(0) if discount_percent is None else discount_percent
    if not discount.is_finite() or not Decimal(0) <= discount <= _HUNDRED:
        raise InvalidLine("discount_percent", f"must be between 0 and 100, got {discount}")
    _check_charge(product)
    net = net_unit_price(list_price, discount)
    return QuoteLine(
        sku=product.sku,
        quantity=quantity,
        list_price=list_price,
        discount_percent=discount,
        net_unit_price=net,
        amount_per_period=net * quantity,
        charge_type=product.charge_type,
        billing_period=product.billing_period,
        subscription_id=subscription_id,
    )


def _check_charge(product: Product) -> None:
    if product.charge_type == "recurring" and product.billing_period not in PERIOD_MONTHS:
        raise InvalidLine(
            "billing_period",
            f"recurring product {product.sku} has billing period {product.billing_period!r}",
        )
    if product.charge_type == "one_time" and product.billing_period is not None:
        raise InvalidLine(
            "billing_period", f"one-time product {product.sku} must not have a billing period"
        )


def price_lines(
    requests: Iterable[LineRequest], catalog: Mapping[str, Product], quote_currency: str
) -> list[QuoteLine]:
    """Price every requested line against the price book, in request order.

    Raises UnknownProduct for a SKU missing from `catalog`, CurrencyMismatch for a product
    in another currency than the quote, InvalidLine naming `lines[i]` for a line whose
    amount_per_period is over MAX_AMOUNT, and whatever price_line raises.
    """
    lines: list[QuoteLine] = []
    for index, request in enumerate(requests):
        product = catalog.get(request.sku)
        if product is None:
            raise UnknownProduct(request.sku)
        if product.currency != quote_currency:
            raise CurrencyMismatch(product.sku, product.currency, quote_currency)
        line = price_line(
            product,
            request.quantity,
            request.unit_price,
            request.discount_percent,
            request.subscription_id,
        )
        if line.amount_per_period > MAX_AMOUNT:
            raise InvalidLine(
                f"lines[{index}]",
                f"amount per period {line.amount_per_period} is over the largest amount "
                f"{MAX_AMOUNT}",
            )
        lines.append(line)
    return lines


@dataclass(frozen=True, slots=True)
class QuoteTotals:
    """A quote's totals in minor units."""

    recurring_per_period: int
    one_time: int
    total_contract_value: int


def compute_totals(
    lines: Iterable[QuoteLine],
    start_date: date,
    term_months: int | None = None,
    bill_cycle_day: int | None = None,
    *,
    end_date: date | None = None,
) -> QuoteTotals:
    """Totals of a quote whose service starts on `start_date`.

    recurring_per_period sums amount_per_period of the recurring lines (whatever their
    billing periods); one_time sums the one-time lines (net unit x quantity).
    total_contract_value adds one_time to the amount of every span of every recurring
    line over [start_date, end], each span rounded on its own as a bill run would (F1:
    565000). The end is term_end(start_date, term_months) for a new or renewal quote, or
    `end_date` (inclusive; the contract's end) for an amendment, whose start_date is the
    effective date. An amendment without an end_date has no term to price over: its
    total_contract_value is then recurring_per_period + one_time, one period's worth.
    bill_cycle_day defaults to start_date's day; an amendment passes the contract's BCD.

    Raises InvalidLine when both term_months and end_date are given, for term_months < 1,
    an end_date before start_date, a BCD outside 1..31, a recurring line without a
    billing period, or a total over MAX_AMOUNT (field `lines`).
    """
    bcd = start_date.day if bill_cycle_day is None else bill_cycle_day
    if not 1 <= bcd <= 31:
        raise InvalidLine("bill_cycle_day", f"must be in 1..31, got {bcd}")
    end = _term_last_day(start_date, term_months, end_date)
    recurring_per_period = 0
    one_time = 0
    term_value = 0
    for line in lines:
        if line.charge_type == "one_time":
            one_time += line.amount_per_period
            continue
        recurring_per_period += line.amount_per_period
        if line.billing_period is None:
            raise InvalidLine("billing_period", f"recurring line {line.sku} has none")
        if end is not None:
            term_value += sum(
                span_amount(line.net_unit_price, line.quantity, span.days, span.nominal_days)
                for span in billing_spans(start_date, end, line.billing_period, bcd)
            )
    if end is None:
        term_value = recurring_per_period
    totals = QuoteTotals(recurring_per_period, one_time, term_value + one_time)
    largest = max(totals.recurring_per_period, totals.one_time, totals.total_contract_value)
    if largest > MAX_AMOUNT:
        raise InvalidLine("lines", f"a total of {largest} is over the largest amount {MAX_AMOUNT}")
    return totals


def _term_last_day(start: date, term_months: int | None, end_date: date | None) -> date | None:
    if term_months is not None and end_date is not None:
        raise InvalidLine("term_months", "give term_months or end_date, not both")
    if term_months is not None:
        if term_months < 1:
            raise InvalidLine("term_months", f"must be at least 1, got {term_months}")
        return term_end(start, term_months)
    if end_date is not None and end_date < start:
        raise InvalidLine("end_date", f"{end_date} is before the start {start}")
    return end_date


class QuoteStatus(StrEnum):
    """Where a quote is in its life; accepted and rejected are final."""

    DRAFT = "draft"
    PRESENTED = "presented"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class QuoteAction(StrEnum):
    """A step that may change a quote's status."""

    PRESENT = "present"
    ACCEPT = "accept"
    REJECT = "reject"
    EDIT = "edit"


_TRANSITIONS: Final[Mapping[tuple[QuoteStatus, QuoteAction], QuoteStatus]] = MappingProxyType(
    {
        (QuoteStatus.DRAFT, QuoteAction.PRESENT): QuoteStatus.PRESENTED,
        (QuoteStatus.DRAFT, QuoteAction.ACCEPT): QuoteStatus.ACCEPTED,
        (QuoteStatus.PRESENTED, QuoteAction.ACCEPT): QuoteStatus.ACCEPTED,
        (QuoteStatus.DRAFT, QuoteAction.REJECT): QuoteStatus.REJECTED,
        (QuoteStatus.PRESENTED, QuoteAction.REJECT): QuoteStatus.REJECTED,
        (QuoteStatus.DRAFT, QuoteAction.EDIT): QuoteStatus.DRAFT,
    }
)


def transition(quote_id: str, status: QuoteStatus, action: QuoteAction) -> QuoteStatus:
    """The status after `action`; raises InvalidTransition when `status` forbids it."""
    try:
        return _TRANSITIONS[(status, action)]
    except KeyError:
        raise InvalidTransition(quote_id, status.value, action.value) from None


def present(quote_id: str, status: QuoteStatus) -> QuoteStatus:
    """Present a draft quote; raises InvalidTransition from any other status."""
    return transition(quote_id, status, QuoteAction.PRESENT)


def accept(quote_id: str, status: QuoteStatus) -> QuoteStatus:
    """Accept a draft or presented quote; raises InvalidTransition otherwise (accepted too)."""
    return transition(quote_id, status, QuoteAction.ACCEPT)


def reject(quote_id: str, status: QuoteStatus) -> QuoteStatus:
    """Reject a draft or presented quote; raises InvalidTransition otherwise."""
    return transition(quote_id, status, QuoteAction.REJECT)


def ensure_editable(quote_id: str, status: QuoteStatus) -> None:
    """Allow an edit (PATCH) of a draft quote only; raises InvalidTransition otherwise."""
    transition(quote_id, status, QuoteAction.EDIT)
