"""The base of a service's repositories: where its SQL lives (STYLE.md, store/).

A handler asks its unit of work for a repository and talks to it in business
words (`await uow.repository(Invoices).get(invoice_id)`); the repository holds
the queries and writes over the unit of work's session, inside its transaction.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class Repository:
    """The queries and writes of one concept, on the session of one unit of work.

    Subclasses take no other constructor arguments: `UnitOfWork.repository(kind)`
    makes them, once per unit of work.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
