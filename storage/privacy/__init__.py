"""The privacy feature's storage: forgetting a person across every feature."""
