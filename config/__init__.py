"""Settings (pydantic models), the YAML loader and the platform contract's overridable names."""
