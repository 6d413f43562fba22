"""The built-in stand-in casino platform: Vault, Concierge, Room-Service and the SPA behind a CDN.

Every part follows ``../shared/platform-contract.md`` and can be broken on purpose through
``sandbox.faults`` so that tests can show each probe catching a real failure.
"""
