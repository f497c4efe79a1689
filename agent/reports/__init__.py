"""xlsx writers for the regulator's tables. They take domain results, never the store."""
