"""History rows move onto common.workflow.HistoryEntry: the same columns for every workflow
(from_state, to_state, reason, data). Renames keep every row; nothing is recomputed."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("alliance", "0001_initial")]

    operations = [
        migrations.RenameField("projectevent", "from_status", "from_state"),
        migrations.RenameField("projectevent", "to_status", "to_state"),
        migrations.RenameField("projectevent", "note", "reason"),
        migrations.AlterField("projectevent", "from_state",
                              models.CharField(blank=True, max_length=20)),
        migrations.AlterField("projectevent", "to_state", models.CharField(blank=True, max_length=20)),
        migrations.AlterField("projectevent", "at", models.DateTimeField(db_index=True)),
        migrations.AddField("projectevent", "data",
                            models.JSONField(blank=True, default=dict)),
        migrations.RenameField("routingevent", "from_status", "from_state"),
        migrations.RenameField("routingevent", "to_status", "to_state"),
        migrations.RenameField("routingevent", "note", "reason"),
        migrations.AlterField("routingevent", "from_state",
                              models.CharField(blank=True, max_length=20)),
        migrations.AlterField("routingevent", "to_state", models.CharField(blank=True, max_length=20)),
        migrations.AlterField("routingevent", "at", models.DateTimeField(db_index=True)),
        migrations.AddField("routingevent", "data",
                            models.JSONField(blank=True, default=dict)),
    ]
