"""History rows move onto common.workflow.HistoryEntry: the same columns for every workflow
(from_state, to_state, reason, data). Renames keep every row; nothing is recomputed."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]

    operations = [
        migrations.RenameField("surveyevent", "from_status", "from_state"),
        migrations.RenameField("surveyevent", "to_status", "to_state"),
        migrations.RenameField("surveyevent", "note", "reason"),
        migrations.AlterField("surveyevent", "from_state",
                              models.CharField(blank=True, max_length=20)),
        migrations.AlterField("surveyevent", "to_state", models.CharField(blank=True, max_length=20)),
        migrations.AlterField("surveyevent", "at", models.DateTimeField(db_index=True)),
        migrations.AddField("surveyevent", "data",
                            models.JSONField(blank=True, default=dict)),
    ]
