"""The staff feature's storage: invites that grant roles."""
