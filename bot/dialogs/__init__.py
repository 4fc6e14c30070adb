"""Each feature's aiogram-dialog windows, states and views: one sub-package per feature."""
