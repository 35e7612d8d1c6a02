"""The seed content (one JSON file per collection, English and Spanish) and its loader."""
