"""The one Telegram-out layer, shared by handlers and jobs: sending replies and keyboards
(``send``) and the typed ``bot_data``/``chat_data`` of every callback (``context``)."""
