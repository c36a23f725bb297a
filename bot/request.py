"""The HTTP client for Bot API calls: many small connection pools instead of one big one.

httpcore looks at every connection of its pool on each request (is it idle, has it expired),
so with one pool of 128 connections and 64 requests in flight, that bookkeeping costs more
CPU than the request itself and caps a broadcast at a few hundred messages a second. The same
capacity spread over pools of 4 connections keeps it cheap (see bench/, "broadcast").
"""

from __future__ import annotations

from typing import Any

import httpx
from telegram.request import BaseRequest, HTTPXRequest, RequestData

DEFAULT_NONE: Any = BaseRequest.DEFAULT_NONE


class ShardedRequest(BaseRequest):
    """`shards` HTTPXRequest pools of `connection_pool_size` each; a request goes to the least
    busy one. Takes HTTPXRequest's keyword arguments."""

    def __init__(self, *, shards: int = 32, connection_pool_size: int = 4, **kwargs: Any) -> None:
        if shards < 1:
            raise ValueError("shards must be at least 1")
        # One TLS context for all pools (building one loads the CA bundle: ~20 ms each).
        httpx_kwargs = {"verify": httpx.create_ssl_context(), **kwargs.pop("httpx_kwargs", {})}
        self._shards = [
            HTTPXRequest(
                connection_pool_size=connection_pool_size, httpx_kwargs=httpx_kwargs, **kwargs
            )
            for _ in range(shards)
        ]
        self._busy = [0] * shards

    @property
    def read_timeout(self) -> float | None:
        return self._shards[0].read_timeout

    async def initialize(self) -> None:
        for shard in self._shards:
            await shard.initialize()

    async def shutdown(self) -> None:
        for shard in self._shards:
            await shard.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = DEFAULT_NONE,
        write_timeout: Any = DEFAULT_NONE,
        connect_timeout: Any = DEFAULT_NONE,
        pool_timeout: Any = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        index = min(range(len(self._shards)), key=self._busy.__getitem__)
        self._busy[index] += 1
        try:
            return await self._shards[index].do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        finally:
            self._busy[index] -= 1
