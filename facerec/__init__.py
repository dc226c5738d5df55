"""FaceRec's Django project.

One BLAS thread per process: gunicorn's workers, the job worker and bulk import's processes already use every
core, and OpenBLAS's threads spinning beside them made the 10,000-face search matrix product 8x dearer in CPU
(bench/identify.py on a loaded machine). Set before NumPy is first imported; the environment may override it.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
