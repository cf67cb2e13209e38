"""Sub-commands of ``oms``, one module per feature area.

Each module defines ``register(subparsers)`` adding its commands (with ``set_defaults(func=…)``);
``core.cli`` discovers them all, so a feature adds commands without editing a shared file.
"""
