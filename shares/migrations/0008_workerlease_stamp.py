from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("shares", "0007_admin_login_count"),
    ]

    operations = [
        migrations.AddField(
            model_name="workerlease",
            name="stamp",
            field=models.CharField(blank=True, db_default="", max_length=80),
        ),
    ]
