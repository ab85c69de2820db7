"""Human handoff: escalation rules, the agent queue and who owns each conversation."""
