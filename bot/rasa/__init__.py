"""The Rasa side: HTTP client, tracker and lock stores, NLU components, policies, training."""
