"""Entry points: ``careers-bot`` (``cli``), the Application builder (``application``), the
terminal chat (``terminal``) and the local Bot API server it and the tests run against
(``local_api``)."""
