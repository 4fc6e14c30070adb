"""The council's screens: residents' /council, staff running it, the /settings line."""
