"""The shop: its contract (`service.yaml`), tables (`schema.sql`) and load (`locustfile.py`).

The shop's code still lives in `aftershock.sandbox.shop` and its relay and
consumer in `aftershock.sandbox.events`; they move here as the sandbox
and the final reads come to know a service only by its contract. Its
locustfile already uses nothing but the public recording API.
"""
