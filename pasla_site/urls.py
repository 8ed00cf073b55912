from django.conf import settings
from django.contrib import admin
from django.urls import path, re_path

from shares.web import admin_static, ops, views

# Everything lives under PASLA_URL_PREFIX ("" or "/files"): a proxy that
# publishes pasla under a sub-path passes the path through unchanged.
_base = settings.PASLA_URL_PREFIX.lstrip("/") + "/" if settings.PASLA_URL_PREFIX else ""

urlpatterns = [
    # daphne serves no static files: the admin's own, behind the admin gate.
    path(_base + settings.PASLA_ADMIN_PATH + "static/<path:name>", admin_static.serve, name="admin-static"),
    path(_base + settings.PASLA_ADMIN_PATH, admin.site.urls),
    path(_base + "healthz", ops.healthz, name="healthz"),
    path(_base + "metrics", ops.metrics_view, name="metrics"),
    path(_base + "<str:token>/<str:name>", views.download, name="download"),
    # Last: the answer handler404 gives, reached without Django's
    # exception path (which renders it on a thread).
    re_path(r"", views.unknown_path),
]

handler400 = "shares.web.views.bad_request"
handler403 = "shares.web.views.forbidden"
handler404 = "shares.web.views.not_found"
handler500 = "shares.web.views.server_error"
