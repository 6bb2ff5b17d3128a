"""An agent module whose import fails, as one with a missing setting would."""

raise RuntimeError("AGENT_CONFIG is not set")
