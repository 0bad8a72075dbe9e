-- Who made each version (karte.Author), in the version's own row so that
-- it is committed with it: the "who entered" of a true record. NULL in
-- the versions written before authors were kept; adding the columns
-- rewrites none of them.
ALTER TABLE resource_version ADD COLUMN author_kind   TEXT;
ALTER TABLE resource_version ADD COLUMN author_id     TEXT;
ALTER TABLE resource_version ADD COLUMN author_person TEXT;
ALTER TABLE resource_version ADD COLUMN author_name   TEXT;
ALTER TABLE resource_version ADD COLUMN author_app    TEXT;
