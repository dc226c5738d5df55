"""django-mongodb-backend with two fixes (DATABASES ENGINE "facerec.mongodb"); the rest is the official backend.

1. The backend's transaction may be used inside django.db.transaction.atomic (see base.py).
2. Joined fields are projected by expression.
3. A write refused by a collection validator (how check constraints are kept) is an IntegrityError.

The backend projects a joined collection's fields as a nested inclusion, {"ct": {"app_label": 1}}.
MongoDB reads that as "keep ct.app_label", but some MongoDB-wire servers (SecantusDB, the test
server) return the literal 1. {"ct": {"app_label": "$ct.app_label"}} means the same to MongoDB and
to them, so FaceRec's MongoDB backend writes that instead.
"""
