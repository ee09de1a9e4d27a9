"""The runbook as data: one YAML file per phase, plus the default ``cockpit.yaml``.

Shipped inside the wheel so that a non-editable install finds it; located at run
time with ``importlib.resources`` (see ``cockpit.config.shipped_dir``).
"""
