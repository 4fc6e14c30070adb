"""The dialog kit every feature's dialogs share: the typed context of an update, texts
from the locale files, the main-menu button, pickers and paged lists, window notices,
toasts, and the message manager and guard that keep stale presses and unchanged screens
from reaching Telegram."""
