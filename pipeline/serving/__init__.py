"""`glassbox serve`: decisions in production. engine.py turns raw applicant values into a scored, explained decision
with the pushed model and the training run's policies; store.py keeps every decision in an append-only, hash-chained
record (SQLite or PostgreSQL); app.py is the HTTP service around both."""
