"""Contact takes its names, e-mail, phones, language and consent from `crm.people.Person`.

New columns are added with a `db_default` (or are nullable), so on PostgreSQL adding them to a
large table changes only the catalogue, without rewriting the table.
The two AlterFields only set a column DEFAULT ''; existing rows are untouched.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0009_nightly_grading_schedule'),
    ]

    operations = [
        migrations.AddField(
            model_name='contact',
            name='do_not_contact',
            field=models.BooleanField(db_default=False, default=False, help_text='No calls, messages or campaigns of any kind.', verbose_name='do not contact'),
        ),
        migrations.AddField(
            model_name='contact',
            name='sms_opt_in',
            field=models.BooleanField(db_default=False, default=False, verbose_name='agreed to marketing SMS'),
        ),
        migrations.AddField(
            model_name='contact',
            name='sms_opt_in_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='agreed to SMS on'),
        ),
        migrations.AddField(
            model_name='contact',
            name='sms_opt_in_source',
            field=models.CharField(blank=True, db_default='', default='', max_length=100, verbose_name='SMS consent source'),
        ),
        migrations.AlterField(
            model_name='contact',
            name='email_opt_in_source',
            field=models.CharField(blank=True, db_default='', default='', max_length=100, verbose_name='consent source'),
        ),
        migrations.AlterField(
            model_name='contact',
            name='preferred_language',
            field=models.CharField(blank=True, choices=[('zh-hans', '简体中文'), ('en', 'English')], db_default='', default='', max_length=10, verbose_name='preferred language'),
        ),
    ]
