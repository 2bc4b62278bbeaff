"""The services a sandbox runs, each beside its service contract (`config.service_contract`).

The sandbox stands in for the managed services of two regions; a service
is what runs on them. The shop is the default one.
"""
