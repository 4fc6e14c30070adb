"""The onboarding feature's storage: loading the hierarchy (CSV, YAML) that residents
bind to."""
