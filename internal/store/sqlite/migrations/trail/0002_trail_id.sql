-- The trail's id, made when the trail is created (see pairTrail): the
-- record keeps it, and refuses a trail of another id beside it.
CREATE TABLE trail_id (
	id TEXT NOT NULL
);
