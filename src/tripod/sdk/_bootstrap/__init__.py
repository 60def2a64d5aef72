"""The directory ``tripod run`` puts first on ``PYTHONPATH``: only ``sitecustomize`` matters."""
