"""The relay's URLs: monitoring as on any pasla server, every share path to its sender."""

from django.conf import settings
from django.urls import path, re_path

from shares.relay.views import relayed
from shares.web import ops, views

_base = settings.PASLA_URL_PREFIX.lstrip("/") + "/" if settings.PASLA_URL_PREFIX else ""

urlpatterns = [
    path(_base + "healthz", ops.healthz, name="healthz"),
    path(_base + "metrics", ops.metrics_view, name="metrics"),
    path(_base + "<str:token>/<str:name>", relayed, name="relayed"),
    re_path(r"", views.unknown_path),
]

handler400 = "shares.web.views.bad_request"
handler403 = "shares.web.views.forbidden"
handler404 = "shares.web.views.not_found"
handler500 = "shares.web.views.server_error"
