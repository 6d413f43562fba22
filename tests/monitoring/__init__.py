"""Tests of monitoring/: rules, promtool unit tests, Alertmanager, dashboard, runbooks."""
