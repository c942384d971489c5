"""Salesforce access for calltui: transport, client factory and sync helpers."""
