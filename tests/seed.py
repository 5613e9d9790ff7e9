"""What the seed spec promises, written out once for the tests that check it."""

#: The keys of the seed's usage-stats JSON example, in its order.
SEED_STATS_KEYS = [
    "period_hours",
    "total_requests",
    "successful_requests",
    "failed_requests",
    "total_input_tokens",
    "total_output_tokens",
    "total_tokens",
    "cost_usd",
    "cost_by_provider",
    "cost_by_task",
    "total_cost_all_time",
]
