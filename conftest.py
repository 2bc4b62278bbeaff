"""Root conftest: where the pytest plugin that runs experiment files will be loaded.

`pytest_plugins` may only be declared here (pytest refuses it in nested
conftests); the experiment plugin arrives with the experiments.
"""
