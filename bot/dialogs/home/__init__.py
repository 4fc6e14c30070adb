"""The home feature's dialogs: the main menu."""
