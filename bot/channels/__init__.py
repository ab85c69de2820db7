"""Customer channels (Telegram, Slack) and the agents' Slack workspace, plugged into the gateway.

A channel starts only when its credentials are configured (see :func:`configured_channels`).
"""
