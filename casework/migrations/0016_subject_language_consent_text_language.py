# Consent texts gain a language (every text so far was written in English), and subjects the language
# their e-mails are written in (empty until known). A version may now exist once per language.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('casework', '0015_report_known_hashes'),
    ]

    operations = [
        migrations.AddField(
            model_name='consenttext',
            name='language',
            field=models.CharField(default='en', help_text='A language code of settings.LANGUAGES.', max_length=10),
        ),
        migrations.AddField(
            model_name='subject',
            name='language',
            field=models.CharField(blank=True, max_length=10),
        ),
        migrations.AlterField(
            model_name='consenttext',
            name='version',
            field=models.CharField(max_length=40),
        ),
        migrations.AddConstraint(
            model_name='consenttext',
            constraint=models.UniqueConstraint(fields=('version', 'language'), name='one_consent_text_per_version_language'),
        ),
    ]
