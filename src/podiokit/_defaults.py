"""Every default and limit of the client, in one place.

`Podio`, `SyncPodio`, the transports and the pipeline read their defaults from here, so a
tunable is written once. Plain numbers only (no httpx objects): this module imports nothing.
"""

from __future__ import annotations

#: Where the client talks to Podio, and where a user signs in.
API_URL = "https://api.podio.com"
AUTH_URL = "https://podio.com/oauth/authorize"

#: Per-request timeout in seconds: Podio can take many seconds on a large filter;
#: connecting should never take long.
TIMEOUT = 60.0
CONNECT_TIMEOUT = 10.0

#: Retries of idempotent calls on connection errors, timeouts and 500/502/503/504.
MAX_RETRIES = 3
#: Exponential backoff (full jitter) between retries, in seconds.
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0

#: Requests in flight at once across a client and its sessions; further callers queue on
#: the client's semaphore. benchmarks/bench_concurrency.py measures other values.
MAX_CONCURRENCY = 8
#: Connections kept to Podio by podiokit's own client (at least `max_concurrency`), and by
#: `transports.aiohttp_transport()`.
MAX_CONNECTIONS = 20
#: How long podiokit's transport keeps an idle connection open, in seconds.
KEEPALIVE_EXPIRY = 5.0

#: On Podio's 420, wait and retry when it asks for at most this many seconds.
RATE_LIMIT_WAIT = 60.0
#: With `pace=True`, slow down once less than this share of the hourly budget is left.
PACE_THRESHOLD = 0.2
#: A wait at least this long (backoff, 420 hint, pacing) is logged at INFO, not DEBUG.
LOUD_WAIT = 5.0
#: A store that shares rate-limit figures is asked before a call and told after it only once
#: at most this share of the budget is left (twice the pacing threshold, at least this
#: much), or when this process's figures are older than SHARE_STALE seconds.
MIN_SHARE_BAND = 0.2
SHARE_STALE = 30.0

#: A token is refreshed this many seconds before Podio's expiry (or a quarter of its
#: lifetime, if shorter), so a request never leaves with a token that dies on the way.
TOKEN_EXPIRY_SKEW = 60.0

#: `PodioWebhooks` in background mode: accepted events that may wait for a worker (a full
#: queue answers 503), workers handling them (1: in the order they came), and the seconds
#: the workers have at shutdown to finish the queue before they are cancelled.
WEBHOOK_QUEUE_SIZE = 1000
WEBHOOK_WORKERS = 1
WEBHOOK_DRAIN_TIMEOUT = 10.0

#: The largest page Podio serves for an item filter (and the exporter asks for).
MAX_PAGE_SIZE = 500
#: Pages an iteration over a listing fetches ahead of the one being read
#: (`AsyncPage.prefetch`; benchmarks/bench_iterate.py).
PREFETCH_PAGES = 1

#: The mirror's tables are `podio_items`, `podio_mirror_state`, `podio_app_<app_id>` unless
#: told otherwise.
MIRROR_TABLE_PREFIX = "podio_"
#: Seconds a mirror statement waits for a lock another connection holds (SQLite's busy
#: timeout, PostgreSQL's lock_timeout) before the run fails with "locked": long enough for
#: another writer's page (one transaction), short enough that a blocked cron run says so.
MIRROR_LOCK_TIMEOUT = 5.0
