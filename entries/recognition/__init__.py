"""The recognition pipeline, free of HTTP and of the admin.

Photo bytes go in (images: decode by content; engine: detect, align, embed; faces: one face or
all of them, with a quality gate for enrolment); embeddings come out, are searched (search,
pgvector) and scored against thresholds that calibration learned from labelled photos
(evaluation measures them).
"""
