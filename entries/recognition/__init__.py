"""The recognition pipeline, free of HTTP and of the admin.

Photo bytes go in (images: decode by content; engine: detect, then align and embed with the face model
that registry names among models' plug-ins; faces: one face or all of them, with a quality gate for
enrolment); embeddings come out, compared by the rules of vectors and scored against thresholds that
calibration learned from labelled photos (evaluation measures them). Nothing here reads the database:
searching enrolled faces is entries.gallery's.
"""
