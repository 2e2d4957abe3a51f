"""Chat signals: message extraction, conversational style and guardrails.

Pure-Python helpers the chat pipeline calls on every turn; no web framework here.
"""
