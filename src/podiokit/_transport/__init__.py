"""podiokit's HTTP/1.1 transport, in httpcore's split: the pool (`_pool`), the protocol
(`_http11`) and the network streams (`_net`); `_aiohttp` is the aiohttp-backed transport,
imported only by `podiokit.transports.aiohttp_transport()` (aiohttp is an optional extra)."""

from ._pool import PodioTransport, check_verify, read_into, ssl_context

__all__ = ["PodioTransport", "check_verify", "read_into", "ssl_context"]
