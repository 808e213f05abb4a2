/**
 * A SQLite checkpoint thread that dies at once (exit code 3), the way a native crash would, for
 * the checkpointer's restart spec.
 */
process.exit(3);
