"""Tests of bot/agentdesk: the agent console and insights over HTTP and in a browser, the agents' Slack."""
