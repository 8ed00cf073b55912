"""Connection caps that hold across the workers of `pasla serve` (Redis).

Each worker keeps its open connections in a Redis hash of its own
(`<address>` -> count, plus `*` for its total). A registry (a sorted set
scored by "alive until") lists the workers; a heartbeat pushes a worker's
time forward. Admission is one Lua script, so it is atomic across workers:
drop the hashes of workers whose time ran out (a crashed worker's
connections are gone with it), sum the live hashes, and count the new
connection only if both the per-address and the global cap leave room.

The calls are synchronous and made from the reactor: one round trip to a
nearby Redis per accepted and per closed connection, on a client
of its own with a 0.25 s timeout. When Redis does not answer, admission
says None and the guard falls back to its own per-process counts rather
than refusing everyone; after a failure Redis is left alone for
RETRY_SECONDS, so a dead Redis costs the reactor one timeout per interval,
not one per connection. The heartbeat rewrites the worker's hash from the
guard's own truth, so a release lost to a Redis hiccup heals within
HEARTBEAT_SECONDS. Every key expires (2 x TTL_SECONDS after the last
heartbeat), and a worker that exits cleanly removes its own at once.
"""

import logging
import time

from django.conf import settings

from shares.config.runtime import worker_id
from shares.handling.counters import counters

log = logging.getLogger("pasla.server")

# A worker that has not refreshed its entry for this long is taken for dead.
TTL_SECONDS = 10.0
HEARTBEAT_SECONDS = 2.0
TIMEOUT_SECONDS = 0.25
RETRY_SECONDS = 5.0

_ADMIT = """
local registry, own = KEYS[1], KEYS[2]
local ip, per_ip, global = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now, ttl = tonumber(ARGV[4]), tonumber(ARGV[5])
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', registry, '-inf', now)) do
  redis.call('DEL', dead)
end
redis.call('ZREMRANGEBYSCORE', registry, '-inf', now)
redis.call('ZADD', registry, now + ttl, own)
redis.call('EXPIRE', registry, math.ceil(ttl * 2))
local total, mine = 0, 0
for _, worker in ipairs(redis.call('ZRANGE', registry, 0, -1)) do
  local counts = redis.call('HMGET', worker, '*', ip)
  total = total + (tonumber(counts[1]) or 0)
  mine = mine + (tonumber(counts[2]) or 0)
end
if total >= global or mine >= per_ip then
  return 0
end
redis.call('HINCRBY', own, '*', 1)
redis.call('HINCRBY', own, ip, 1)
redis.call('EXPIRE', own, math.ceil(ttl * 2))
return 1
"""

_RELEASE = """
local own, ip = KEYS[1], ARGV[1]
if redis.call('HINCRBY', own, ip, -1) <= 0 then redis.call('HDEL', own, ip) end
if redis.call('HINCRBY', own, '*', -1) <= 0 then redis.call('HDEL', own, '*') end
return 1
"""


class SharedConnectionCounts:
    def __init__(self, client, key_of, worker: str | None = None, clock=time.time, monotonic=time.monotonic):
        self.client = client
        self.registry = key_of("conn:workers")
        self.own = key_of(f"conn:worker:{worker or worker_id()}")
        self.clock = clock
        self.monotonic = monotonic
        self._admit = client.register_script(_ADMIT)
        self._release = client.register_script(_RELEASE)
        self._failing = False
        self._quiet_until = 0.0

    @classmethod
    def from_cache(cls, worker: str | None = None):
        """On the Redis named by CACHE_URL, under the cache's key prefix."""
        # redis is needed only where a Redis cache is configured.
        import redis

        location = settings.CACHES["default"]["LOCATION"]
        location = location[0] if isinstance(location, list | tuple) else location.split(",")[0]
        client = redis.Redis.from_url(
            location, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
        )
        cache = counters()
        return cls(client, lambda name: cache.make_key(f"pasla:{name}"), worker)

    def _call(self, what, fn):
        if self._failing and self.monotonic() < self._quiet_until:
            return None
        try:
            result = fn()
        except Exception as exc:  # Redis down or slow: say so once, not per connection
            if not self._failing:
                log.warning("shared connection counts unavailable (%s): per-worker caps only", exc)
                self._failing = True
            self._quiet_until = self.monotonic() + RETRY_SECONDS
            return None
        if self._failing:
            log.info("shared connection counts available again")
            self._failing = False
        return result

    def start(self) -> None:
        """A fresh worker: nothing counted under its name yet."""
        self._call("start", lambda: self.client.delete(self.own))
        self.heartbeat()

    def admit(self, ip: str, per_ip: int, global_cap: int) -> bool | None:
        args = [ip, per_ip, global_cap, self.clock(), TTL_SECONDS]
        result = self._call("admit", lambda: self._admit(keys=[self.registry, self.own], args=args))
        return None if result is None else bool(result)

    def release(self, ip: str) -> None:
        self._call("release", lambda: self._release(keys=[self.own], args=[ip]))

    def heartbeat(self, counts: dict[str, int] | None = None) -> None:
        """Keep this worker alive in the registry; with `counts` (address ->
        open connections, from the guard), rewrite its hash to match them."""

        def beat():
            pipe = self.client.pipeline(transaction=True)
            pipe.zadd(self.registry, {self.own: self.clock() + TTL_SECONDS})
            # The registry outlives no server: once no worker beats, it expires.
            pipe.expire(self.registry, int(TTL_SECONDS * 2))
            if counts is not None:
                pipe.delete(self.own)
                live = {ip: n for ip, n in counts.items() if n > 0}
                if live:
                    pipe.hset(self.own, mapping={**live, "*": sum(live.values())})
            pipe.expire(self.own, int(TTL_SECONDS * 2))
            pipe.execute()

        self._call("heartbeat", beat)

    def forget(self) -> None:
        """This worker is gone (its supervisor says so, or it exits cleanly):
        drop its counts now; the last worker's leaving empties the registry,
        which Redis then deletes."""

        def drop():
            pipe = self.client.pipeline()
            pipe.zrem(self.registry, self.own)
            pipe.delete(self.own)
            pipe.execute()

        self._call("forget", drop)
