"""Monitoring data: water-quality sections, eco-compensation between counties, township GEP assessment.

* :mod:`gep.monitoring.series`        parameters, units, flags, detection limits, periods, gaps;
* :mod:`gep.monitoring.compliance`    GB 3838-2002 class per section and period, exceedance, pollution index;
* :mod:`gep.monitoring.calibration`   fit decay rates and export-coefficient multipliers of the basin model;
* :mod:`gep.monitoring.compensation`  horizontal compensation agreements and their payments;
* :mod:`gep.monitoring.booking`       the payments booked as cash transfers in the ledger's market;
* :mod:`gep.monitoring.assessment`    township targets, scores, ranking and GEP-growth payments.

Pure functions on tables: the files are read by :mod:`gep.io.monitoring` and written by
:mod:`gep.io.monitoring_report`; the commands are the jobs :mod:`gep.jobs.monitoring_compliance`,
:mod:`gep.jobs.monitoring_calibrate`, :mod:`gep.jobs.compensation` and :mod:`gep.jobs.assess`.
See ``docs/monitoring.md``.
"""
