"""The finance dashboard (`/dashboard`): a server-rendered page of the ledger's reports and
the RevOps metrics, charts drawn as SVG on the server, no asset from outside the service."""
