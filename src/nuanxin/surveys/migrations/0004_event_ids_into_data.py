"""History rows that kept an id or a time in `reason` (which pages show as a person's note)
keep it in `data` instead, as new rows do."""

import re

from django.db import migrations

MOVED = {
    "surveys.question.added": "question",
    "surveys.question.updated": "question",
    "surveys.question.deleted": "question",
    "surveys.survey.closing_changed": "closes_at",
}
NEED_RAISED = re.compile(r"^option (\d+) → need (\d+)$")
COPY_OF = re.compile(r"^copy of (\d+)$")


def forwards(apps, schema_editor):
    SurveyEvent = apps.get_model("surveys", "SurveyEvent")
    changed = []
    for event in SurveyEvent.objects.exclude(reason="").filter(
            action__in=[*MOVED, "surveys.survey.need_raised", "surveys.survey.created"]):
        data = dict(event.data or {})
        if event.action in MOVED:
            value = event.reason
            data[MOVED[event.action]] = int(value) if value.isdigit() else value
        elif match := NEED_RAISED.match(event.reason):
            data.update(option=int(match[1]), need=int(match[2]))
        elif match := COPY_OF.match(event.reason):
            data["copy_of"] = int(match[1])
        else:
            continue
        event.data, event.reason = data, ""
        changed.append(event)
    # Historical models have no append-only save(); this one-off move is the exception.
    SurveyEvent.objects.bulk_update(changed, ["data", "reason"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("surveys", "0003_response_released")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
