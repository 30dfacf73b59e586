"""The published language: every event payload of every topic, registered in CATALOGUE.

These are data contracts between services, not behaviour. Importing this
package registers all of them.
"""

from revline_events.payloads import billing, contract, ledger, order, quote

__all__ = ["billing", "contract", "ledger", "order", "quote"]
