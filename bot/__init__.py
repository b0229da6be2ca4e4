"""The patient assistant's own package: services the Rasa actions and the staff console call."""
