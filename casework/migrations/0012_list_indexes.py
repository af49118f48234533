# Issue 17: the indexes the lists read in order at a busy organisation's volume (the case list, /reports/,
# the desk's clocks, the API's takedown requests, /metrics/'s first response per request). Each starts with
# the organisation, so one organisation's pages never read another's rows.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('casework', '0011_takedown_request_organization_required'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['target_type', 'target_id', 'action', 'at'], name='audit_target_action_at'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['organization', '-priority', '-created_at', '-id'], name='case_org_priority_created'),
        ),
        migrations.AddIndex(
            model_name='report',
            index=models.Index(fields=['organization', '-created_at', '-id'], name='report_org_created'),
        ),
        migrations.AddIndex(
            model_name='report',
            index=models.Index(fields=['organization', 'status', '-created_at', '-id'], name='report_org_status_created'),
        ),
        migrations.AddIndex(
            model_name='takedownrequest',
            index=models.Index(fields=['organization', 'state', 'deadline_at'], name='takedown_org_state_deadline'),
        ),
        migrations.AddIndex(
            model_name='takedownrequest',
            index=models.Index(fields=['organization', '-created_at', '-id'], name='takedown_org_created'),
        ),
    ]
