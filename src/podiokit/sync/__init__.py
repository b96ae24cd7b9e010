"""The sync face of podiokit: `SyncPodio`, the same typed surface as `Podio`, blocking.

```python
from podiokit import SyncPodio

with SyncPodio(client_id, client_secret) as podio:
    podio.authenticate_with_app(app_id, app_token)
    item = podio.items.get(item_id)
    for item in podio.items.filter(app_id):
        ...
```
"""

from __future__ import annotations

from ..pagination import SyncPage
from ._client import OnSyncTokenWillRefresh, SyncPodio

__all__ = ["OnSyncTokenWillRefresh", "SyncPage", "SyncPodio"]
