"""Routers of the quote API: thin, each a call to one handler in one unit of work."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from revline_events.unit_of_work import UnitOfWork
from revline_service.auth import Principal, Role, require
from revline_service.idempotency import execute
from revline_service.pagination import Page, PageRequest, page_of, page_request
from revline_service.service import RuntimeDep

from quote.api.schemas import (
    AccountId,
    LineIn,
    ProductIn,
    ProductOut,
    QuoteIn,
    QuoteOut,
    QuotePatch,
    quote_out,
)
from quote.domain.errors import ProductNotFound, UnknownQuote
from quote.handlers import quotes as steps
from quote.handlers.commands import CreateQuote, DefineProduct, LineInput, QuoteTerms, ReviseQuote
from quote.store.queries import Products, Quotes

router = APIRouter(prefix="/v1")

Reader = Annotated[Principal, Depends(require(Role.SALES, Role.FINANCE, Role.OPS))]
Seller = Annotated[Principal, Depends(require(Role.SALES))]
Paging = Annotated[PageRequest, Depends(page_request)]


def _lines(lines: list[LineIn]) -> list[LineInput]:
    return [
        LineInput(
            sku=line.sku,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_percent=Decimal(line.discount_percent) if line.discount_percent else None,
            subscription_id=line.subscription_id,
        )
        for line in lines
    ]


@router.post("/products", status_code=201, response_model=ProductOut, tags=["products"])
async def create_product(
    body: ProductIn, request: Request, runtime: RuntimeDep, who: Seller
) -> JSONResponse:
    """Add a product to the price book."""
    cmd = DefineProduct(**body.model_dump())

    async def step(uow: UnitOfWork) -> Any:
        row = await steps.define_product(uow, cmd)
        return ProductOut.model_validate(row)

    return await execute(request, who, runtime.uow, step, body=body, status_code=201)


@router.get("/products", response_model=Page[ProductOut], tags=["products"])
async def list_products(runtime: RuntimeDep, _: Reader, paging: Paging) -> Page[ProductOut]:
    """The price book, by sku."""
    async with runtime.db.session() as session:
        rows = await Products(session).page(paging.after, paging.limit)
    items = [ProductOut.model_validate(r) for r in rows]
    return page_of(items, paging, lambda p: [p.sku])


@router.get("/products/{sku}", response_model=ProductOut, tags=["products"])
async def get_product(sku: str, runtime: RuntimeDep, _: Reader) -> ProductOut:
    """One product."""
    async with runtime.db.session() as session:
        row = await Products(session).find(sku)
    if row is None:
        raise ProductNotFound(sku)
    return ProductOut.model_validate(row)


@router.post("/quotes", status_code=201, response_model=QuoteOut, tags=["quotes"])
async def create_quote(
    body: QuoteIn, request: Request, runtime: RuntimeDep, who: Seller
) -> JSONResponse:
    """Create a draft quote, priced against the price book."""
    cmd = CreateQuote(
        account_id=body.account_id,
        currency=body.currency,
        terms=QuoteTerms(
            kind=body.kind,
            contract_id=body.contract_id,
            start_date=body.start_date,
            term_months=body.term_months,
            bill_cycle_day=body.bill_cycle_day,
            billing_timing=body.billing_timing,
            auto_renew=body.auto_renew,
        ),
        lines=_lines(body.lines),
    )

    async def step(uow: UnitOfWork) -> Any:
        return quote_out(await steps.create_quote(uow, cmd))

    return await execute(request, who, runtime.uow, step, body=body, status_code=201)


@router.get("/quotes", response_model=Page[QuoteOut], tags=["quotes"])
async def list_quotes(
    runtime: RuntimeDep,
    _: Reader,
    paging: Paging,
    account_id: Annotated[AccountId | None, Query()] = None,
) -> Page[QuoteOut]:
    """Quotes, oldest first, optionally of one account."""
    async with runtime.db.session() as session:
        rows = await Quotes(session).page(account_id, paging.after, paging.limit)
    return page_of([quote_out(r) for r in rows], paging, lambda q: [q.id])


@router.get("/quotes/{quote_id}", response_model=QuoteOut, tags=["quotes"])
async def get_quote(quote_id: str, runtime: RuntimeDep, _: Reader) -> QuoteOut:
    """One quote with its lines and totals."""
    async with runtime.db.session() as session:
        row = await Quotes(session).find(quote_id)
    if row is None:
        raise UnknownQuote(quote_id)
    return quote_out(row)


@router.patch("/quotes/{quote_id}", response_model=QuoteOut, tags=["quotes"])
async def patch_quote(
    quote_id: str, body: QuotePatch, request: Request, runtime: RuntimeDep, who: Seller
) -> JSONResponse:
    """Edit a draft quote (lines, dates, terms); bumps its version."""
    cmd = ReviseQuote(
        quote_id=quote_id,
        start_date=body.start_date,
        term_months=body.term_months,
        bill_cycle_day=body.bill_cycle_day,
        billing_timing=body.billing_timing,
        auto_renew=body.auto_renew,
        lines=_lines(body.lines) if body.lines is not None else None,
    )

    async def step(uow: UnitOfWork) -> Any:
        return quote_out(await steps.revise_quote(uow, cmd))

    return await execute(request, who, runtime.uow, step, body=body)


def _transition(name: str, handler: Any) -> None:
    async def endpoint(
        quote_id: str, request: Request, runtime: RuntimeDep, who: Seller
    ) -> JSONResponse:
        async def step(uow: UnitOfWork) -> Any:
            return quote_out(await handler(uow, quote_id))

        return await execute(request, who, runtime.uow, step)

    endpoint.__doc__ = f"{name.capitalize()} the quote (409 when its status forbids it)."
    router.add_api_route(
        f"/quotes/{{quote_id}}/{name}",
        endpoint,
        methods=["POST"],
        response_model=QuoteOut,
        name=f"{name}_quote",
        tags=["quotes"],
    )


_transition("present", steps.present_quote)
_transition("accept", steps.accept_quote)
_transition("reject", steps.reject_quote)
