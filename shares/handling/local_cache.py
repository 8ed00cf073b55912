"""Django's local-memory cache, with each key built and checked once.

LocMemCache builds every key (prefix and version) and checks it for
memcached portability on every call, most of the cost of a get. The
request gates make about five cache calls per request over a
handful of keys per client and rate window, so the built key is
remembered. A key that draws a portability warning is never remembered:
it warns on every call, as before.
"""

from django.core.cache.backends.base import memcache_key_warnings
from django.core.cache.backends.locmem import LocMemCache

# Rate windows roll over, so keys keep coming; past this many the memo
# starts again rather than grow.
MAX_REMEMBERED = 4096


class LocalCache(LocMemCache):
    def __init__(self, name, params):
        super().__init__(name, params)
        self._built = {}

    def make_and_validate_key(self, key, version=None):
        built = self._built.get((key, version))
        if built is not None:
            return built
        built = self.make_key(key, version=version)
        if any(memcache_key_warnings(built)):
            self.validate_key(built)
            return built
        if len(self._built) >= MAX_REMEMBERED:
            self._built.clear()
        self._built[(key, version)] = built
        return built
