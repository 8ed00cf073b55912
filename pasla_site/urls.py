from django.conf import settings
from django.contrib import admin
from django.urls import path

from shares import views

urlpatterns = [
    path(settings.PASLA_ADMIN_PATH, admin.site.urls),
    path("<str:token>/<str:name>", views.download, name="download"),
]

handler400 = "shares.views.bad_request"
handler403 = "shares.views.forbidden"
handler404 = "shares.views.not_found"
handler500 = "shares.views.server_error"
