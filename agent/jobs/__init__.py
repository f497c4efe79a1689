"""One module per scheduled job area; each job is one short function over ports and the store."""
