"""Project allocations become holdings of common.seats: keyed by the project, with a status
(every existing allocation is held) and the time it was taken (the old added_at)."""

from django.db import migrations, models


def key_by_project(apps, schema_editor):
    ProjectResource = apps.get_model("alliance", "ProjectResource")
    for row in ProjectResource.objects.only("pk", "project_id").iterator():
        ProjectResource.objects.filter(pk=row.pk).update(key=str(row.project_id))


class Migration(migrations.Migration):
    dependencies = [("alliance", "0002_history_on_workflow_base")]

    operations = [
        migrations.RenameField("projectresource", "added_at", "taken_at"),
        migrations.AddField("projectresource", "key",
                            models.CharField(default="", max_length=80), preserve_default=False),
        migrations.AddField("projectresource", "status",
                            models.CharField(choices=[("held", "已占用"), ("waiting", "候补")],
                                             default="held", max_length=8)),
        migrations.AddField("projectresource", "promoted_at",
                            models.DateTimeField(blank=True, null=True)),
        migrations.RunPython(key_by_project, migrations.RunPython.noop),
        migrations.AddConstraint(
            "projectresource",
            models.UniqueConstraint(fields=("resource", "key"), name="project_resource_key_once")),
    ]
