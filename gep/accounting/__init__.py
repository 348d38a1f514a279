"""The GEP core: scenarios, changes, coefficient sets, the landscape, the service catalogue,
the services, valuation, the account and parcels."""
