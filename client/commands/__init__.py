"""The `warroom` commands, one module per area; client.cli puts them together."""
