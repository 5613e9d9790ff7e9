"""The usage tracker, split by job: storage, schema and rollups, the writer, queries, dashboard data."""
