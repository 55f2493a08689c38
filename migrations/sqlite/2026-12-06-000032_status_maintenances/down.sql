DROP TABLE status_maintenance_components;
DROP TABLE status_maintenances;
