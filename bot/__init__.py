"""The domain: knowledge, answering, occupational maps, alerts, storage and settings.

Importing it sets one process-wide default before numpy loads: BLAS runs on one thread
(``OPENBLAS_NUM_THREADS=1`` unless set). The answer path multiplies one question vector by a few
thousand phrasing vectors per message; with a thread per core, OpenBLAS's workers spun on the
other core for every product and the bot used about 15 ms of CPU per answer instead of about 4
(``bench/throughput.py``). Set the variable yourself to override it.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
