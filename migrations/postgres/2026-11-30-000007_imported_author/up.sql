-- The author an imported document names for an entry, kept as text: never linked to a local
-- account of the same name (which would let a document file entries as someone else).
ALTER TABLE timeline_entries ADD COLUMN imported_author TEXT;
