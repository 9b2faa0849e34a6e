"""The lockstep parity tool: ``python -m compare`` and :func:`compare.run_parity`."""
