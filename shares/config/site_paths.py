"""Where the admin and monitoring live below PASLA_URL_PREFIX, read once.

Every request asks several times (gates, headers, the access line); each
answer through django.conf.settings cost two lazy-settings lookups and a
string build. Settings never change in a running server; a test that
overrides them gets fresh answers through `setting_changed`.
"""

import functools
from dataclasses import dataclass

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


@dataclass(frozen=True)
class SitePaths:
    prefix: str  # PASLA_URL_PREFIX: "" or "/files"
    admin: str  # the admin below the prefix, as admin_gate.is_admin_path takes it: "admin/", "files/admin/"
    ops: tuple[str, str]  # /healthz and /metrics
    admin_login: str  # the admin's login form, as path_info has it: "/admin/login/", "/files/admin/login/"


@functools.cache
def current() -> SitePaths:
    prefix = settings.PASLA_URL_PREFIX
    stripped = prefix.lstrip("/")
    admin = (stripped + "/" if stripped else "") + settings.PASLA_ADMIN_PATH
    return SitePaths(prefix, admin, (prefix + "/healthz", prefix + "/metrics"), "/" + admin + "login/")


@receiver(setting_changed)
def _forget(setting, **kwargs):
    if setting in ("PASLA_URL_PREFIX", "PASLA_ADMIN_PATH"):
        current.cache_clear()
