"""One module per scheduled job; each is a short function over ports and the store."""
