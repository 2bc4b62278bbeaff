"""The platform's order-event path: the outbox relay and the fulfilment consumer.

Both run as daemons in each region of the sandbox, beside the shop:
`python -m aftershock.sandbox.events relay|fulfil --config events.json`.
"""
