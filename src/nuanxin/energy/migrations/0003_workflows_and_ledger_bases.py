"""Energy's state machines and custody move onto the platform kit (common.workflow,
common.ledger): the swap's event table becomes the swap workflow's history (every row kept;
columns widened to the base's, `reason` added); alarms, work orders and subscriptions gain
history tables; custody entries gain the ledger base's `key` and `data`."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('energy', '0002_door_holds_and_reported_contents'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='custodyentry',
            name='data',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='custodyentry',
            name='key',
            field=models.CharField(blank=True, max_length=80),
        ),
        migrations.AddField(
            model_name='swapevent',
            name='reason',
            field=models.TextField(blank=True),
        ),
        migrations.AlterField(
            model_name='custodyentry',
            name='action',
            field=models.CharField(max_length=60),
        ),
        migrations.AlterField(
            model_name='custodyentry',
            name='at',
            field=models.DateTimeField(db_index=True),
        ),
        migrations.AlterField(
            model_name='swapevent',
            name='action',
            field=models.CharField(max_length=60),
        ),
        migrations.AlterField(
            model_name='swapevent',
            name='at',
            field=models.DateTimeField(db_index=True),
        ),
        migrations.AlterField(
            model_name='swapevent',
            name='from_state',
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AlterField(
            model_name='swapevent',
            name='to_state',
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.CreateModel(
            name='AlarmEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('action', models.CharField(max_length=60)),
                ('from_state', models.CharField(blank=True, max_length=20)),
                ('to_state', models.CharField(blank=True, max_length=20)),
                ('reason', models.TextField(blank=True)),
                ('data', models.JSONField(blank=True, default=dict)),
                ('at', models.DateTimeField(db_index=True)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('alarm', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='energy.alarm')),
            ],
            options={
                'ordering': ['at', 'id'],
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='SubscriptionEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('action', models.CharField(max_length=60)),
                ('from_state', models.CharField(blank=True, max_length=20)),
                ('to_state', models.CharField(blank=True, max_length=20)),
                ('reason', models.TextField(blank=True)),
                ('data', models.JSONField(blank=True, default=dict)),
                ('at', models.DateTimeField(db_index=True)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('subscription', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='energy.subscription')),
            ],
            options={
                'ordering': ['at', 'id'],
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='WorkOrderEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('action', models.CharField(max_length=60)),
                ('from_state', models.CharField(blank=True, max_length=20)),
                ('to_state', models.CharField(blank=True, max_length=20)),
                ('reason', models.TextField(blank=True)),
                ('data', models.JSONField(blank=True, default=dict)),
                ('at', models.DateTimeField(db_index=True)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('work_order', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='energy.workorder')),
            ],
            options={
                'ordering': ['at', 'id'],
                'abstract': False,
            },
        ),
    ]
