"""End-to-end tests: workflows run by `act` in host mode (see act_harness.py)."""
