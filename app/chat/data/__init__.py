"""Pattern and vocabulary data of the chat (YAML, validated where it is loaded)."""
