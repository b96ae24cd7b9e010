"""A bare ASGI server for client benchmarks: `GET /item/{id}` answers a ~3.4 KB item.

Run as `python benchmarks/_item_server.py PORT`. Pre-encoded bodies, so the server is never
the bottleneck (perf-baselines.md uses the same setup).
"""

from __future__ import annotations

import json
import sys
from typing import Any

BODY = json.dumps(
    {
        "item_id": 1,
        "app_item_id": 1,
        "title": "Benchmark item",
        "link": "https://podio.com/org/space/apps/app/items/1",
        "fields": [
            {
                "field_id": 1000 + i,
                "external_id": f"field-{i}",
                "type": "text",
                "label": f"Field {i}",
                "values": [{"value": "x" * 200}],
            }
            for i in range(12)
        ],
    }
).encode()
HEADERS = [
    (b"content-type", b"application/json; charset=utf-8"),
    (b"content-length", str(len(BODY)).encode()),
    (b"x-rate-limit-limit", b"1000000"),
    (b"x-rate-limit-remaining", b"999999"),
]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
