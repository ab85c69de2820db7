"""The HTTP gateway: the FastAPI app that wires the core, handoff, Rasa and the channels."""
