"""Gateway, conversation router and shared infrastructure of the customer-care assistant."""
