"""RevOps metrics (METRICS.md), pure: MRR and its movements, churn, retention, renewals, sales, LTV.

Every figure is computed from a `History` of facts as known at a time
(`History.as_known_at`, the one bitemporal filter) and a business date or
period. No I/O, no clock: the read model fills a History from events, the API
passes `known_at`.
"""
