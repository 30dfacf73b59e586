"""Tables, the journal projection and the repositories of the ledger service."""
