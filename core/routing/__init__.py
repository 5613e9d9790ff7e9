"""The router's parts, one concern per module.

- `types`: one call's parameters (`Call`), a provider being considered (`Candidate`), a typed `Skip`, the `Trail`.
- `checks/`: the pre-call checks, one per file, run in order by `checks.admit`: configured, cooldown, context
  window, cache, budget, rate limit (last, so a refused call never holds a rate-limit slot).
- `health`: failures and cooldowns per provider.
- `deadline`: the per-attempt and per-call time limits.
- `ledger`: every ending of a provider request becomes exactly one usage row and one `Attempt`.
- `dispatch`: runs one call through the candidates (the non-streaming path) on top of the above.
- `streaming`: `RouterStream`, the streaming path, on the same small `Dispatcher` API.
"""
