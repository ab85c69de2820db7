"""The agents' front-ends: the console and insights HTTP routes and pages, the Slack workspace."""
