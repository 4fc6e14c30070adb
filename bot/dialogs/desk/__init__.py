"""The desk's screen in the chat: the one-time link that opens the command centre's
desk in a browser, and the Mini App button beside it."""
