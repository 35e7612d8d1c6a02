"""Storage: the tables, the database, publishing and reading records, the search index,
renditions and the change feed."""
