"""Water ecological capacity (水生态容量): river and lake models, pollutant loads, credits.

* :mod:`gep.capacity.models`  capacity models (0-D, 1-D placements, Zhejiang, lake, Dillon)
  and the model registry :data:`~gep.capacity.models.MODELS`;
* :mod:`gep.capacity.loads`   point-source and land-cover (export-coefficient) loads;
* :mod:`gep.capacity.credits` remaining capacity and issuable credits per catchment,
  pollutant and vintage;
* :mod:`gep.cli.capacity`     the ``gep capacity`` commands.

Coefficient tables are read by :mod:`gep.io.capacity_tables`.
"""

from gep.capacity.models import MODELS, target_concentration  # noqa: F401
