"""History rows move onto common.workflow.HistoryEntry: the same columns for every workflow
(from_state, to_state, reason, data). Renames keep every row; nothing is recomputed."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("voice", "0001_initial")]

    operations = [
        migrations.RenameField("storyevent", "from_status", "from_state"),
        migrations.RenameField("storyevent", "to_status", "to_state"),
        migrations.RenameField("storyevent", "note", "reason"),
        migrations.AlterField("storyevent", "from_state",
                              models.CharField(blank=True, max_length=20)),
        migrations.AlterField("storyevent", "to_state", models.CharField(blank=True, max_length=20)),
        migrations.AlterField("storyevent", "at", models.DateTimeField(db_index=True)),
        migrations.AddField("storyevent", "data",
                            models.JSONField(blank=True, default=dict)),
    ]
