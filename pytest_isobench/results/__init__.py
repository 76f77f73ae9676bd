"""Result records (one per task, atomic), pytest-benchmark JSON, and shard merging."""
