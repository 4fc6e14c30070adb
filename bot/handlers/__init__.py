"""Each feature's commands, button handlers and push renderers: one sub-package per
feature, whose ``FEATURE`` record is listed in bot.features."""
