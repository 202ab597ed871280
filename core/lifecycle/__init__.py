"""The model's lifecycle: retraining, promotion and rollback, and the drift watch of the model in service."""
