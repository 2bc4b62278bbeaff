"""The shop's service contract (`service.yaml`) and tables (`schema.sql`).

The shop's code still lives in `aftershock.sandbox.shop` and its relay and
consumer in `aftershock.sandbox.events`; they move here as the sandbox,
the load and the final reads come to know a service only by its contract.
"""
