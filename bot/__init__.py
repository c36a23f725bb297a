"""resilience-bot: a Telegram bot that runs group resilience programs."""

__version__ = "0.1.0"
