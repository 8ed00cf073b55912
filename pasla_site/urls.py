from django.conf import settings
from django.contrib import admin
from django.urls import path

from shares import admin_static, views

urlpatterns = [
    # daphne serves no static files: the admin's own, behind the admin gate.
    path(settings.PASLA_ADMIN_PATH + "static/<path:name>", admin_static.serve, name="admin-static"),
    path(settings.PASLA_ADMIN_PATH, admin.site.urls),
    path("<str:token>/<str:name>", views.download, name="download"),
]

handler400 = "shares.views.bad_request"
handler403 = "shares.views.forbidden"
handler404 = "shares.views.not_found"
handler500 = "shares.views.server_error"
