"""History rows move onto common.workflow.HistoryEntry: the same columns for every workflow
(from_state, to_state, reason, data). Renames keep every row; nothing is recomputed."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("needs", "0002_event_unit_data_and_constraints")]

    operations = [
        migrations.RenameField("needevent", "from_status", "from_state"),
        migrations.RenameField("needevent", "to_status", "to_state"),
        migrations.RenameField("needevent", "note", "reason"),
        migrations.AlterField("needevent", "from_state",
                              models.CharField(blank=True, max_length=20)),
        migrations.AlterField("needevent", "to_state", models.CharField(blank=True, max_length=20)),
        migrations.AlterField("needevent", "at", models.DateTimeField(db_index=True)),
    ]
