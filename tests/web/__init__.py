"""Tests of the outer shell: the gateway and its HTTP toolkit, the router, the launcher, the
commands, end to end."""
