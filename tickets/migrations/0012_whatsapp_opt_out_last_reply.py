"""A number's STOP and START keep the row, with Meta's time and ID of the reply that last changed
it: a replayed or late reply is then told apart. The rows there are opted out."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tickets', '0011_task_paths_of_the_delivery_package'),
    ]

    operations = [
        migrations.AddField(
            model_name='whatsappoptout',
            name='changed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='whatsappoptout',
            name='opted_out',
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name='whatsappoptout',
            name='reply_id',
            field=models.CharField(blank=True, max_length=200),
        ),
    ]
