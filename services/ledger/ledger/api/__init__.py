"""The ledger's HTTP API: journal, ledger accounts and reports."""
