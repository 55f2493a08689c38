ALTER TABLE services DROP COLUMN status_override;
DROP TABLE status_page;
