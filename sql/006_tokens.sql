-- Bearer tokens are kept with the other definitions (their secrets only as SHA-256 hashes).

ALTER TABLE tandem_definitions DROP CONSTRAINT tandem_definitions_kind_check;
ALTER TABLE tandem_definitions ADD CONSTRAINT tandem_definitions_kind_check CHECK (kind IN ('streams', 'views', 'tokens'));
