-- 0001: the appliance itself. schema_migrations is created by the migrations runner.
-- instance: one row, the identity of this installation, created on first boot.
CREATE TABLE instance (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  instance_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  boot_count INTEGER NOT NULL DEFAULT 0
);
