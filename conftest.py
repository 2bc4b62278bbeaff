"""Root conftest: loads the plugin that runs experiment files (`pytest experiments -m gate`).

`pytest_plugins` may only be declared here (pytest refuses it in nested
conftests).
"""

pytest_plugins = ["aftershock.pytest_plugin", "pytester"]
