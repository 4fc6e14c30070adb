"""The web faces of gridbot, beside the chat layer (``bot/``) and calling the same
domain (``storage/``): the command-centre desk for staff, the public page, and the Open311
service for other channels. Each feature adds its routes through its ``Feature.web``
record (``web/<feature>/``); ``web.server`` mounts them on the bot's own aiohttp
application, the one that receives webhooks (or, when polling, on ``WEB_PORT``)."""
