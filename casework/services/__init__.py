"""Every state change of casework goes through a function here, and each writes one AuditEvent."""
