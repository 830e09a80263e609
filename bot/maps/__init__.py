"""Skills England's occupational maps: source → store → pure diff → refresh, and search.

- ``model``: the map as frozen data (occupations, products, routes) and the error tree;
- ``parse``: the JSONL snapshot and API formats, and the bundled snapshot;
- ``source``: fetching from the API or a snapshot file/URL, with retries;
- ``store``: every accepted version in SQLite, comparable later;
- ``diff``: what changed between two maps (pure), with the two-pulls rule for absences;
- ``refresh``: one refresh with its guard rails, from the settings;
- ``search``: finding occupations from what a student types;
- ``cards``: an occupation as a student sees it.
"""
