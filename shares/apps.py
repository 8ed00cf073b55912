from django.apps import AppConfig


class SharesConfig(AppConfig):
    name = "shares"
    verbose_name = "Shares"
    default_auto_field = "django.db.models.BigAutoField"
