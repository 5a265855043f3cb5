-- What lets any replica serve any class request (--store postgres://).
--
-- teacher_sessions: the teacher's sign-ins, the SHA-256 of the cookie
-- value (never the value), so a sign-in on one replica holds on all and
-- a sign-out ends it on all.
CREATE TABLE teacher_sessions (
	token_hash TEXT PRIMARY KEY,
	expires_at BIGINT NOT NULL
);
CREATE INDEX teacher_sessions_expiry ON teacher_sessions (expires_at);

-- lab_key: the student's lab key sealed with a key drawn from the
-- student's token, which the database does not hold: a replica opens
-- the lab only when the student's own request brings the token.
ALTER TABLE students ADD COLUMN lab_key TEXT NOT NULL DEFAULT '';

-- resets and clears count the teacher's resets of every lab and
-- clearings of the class mailbox: a student's page that sees one go up
-- reloads, whichever replica it hears it from.
ALTER TABLE classes ADD COLUMN resets INTEGER NOT NULL DEFAULT 0;
ALTER TABLE classes ADD COLUMN clears INTEGER NOT NULL DEFAULT 0;

-- class_undo: what the last "profile for everyone" replaced (the class's
-- profile and each student's, as JSON), so any replica can undo it.
CREATE TABLE class_undo (
	class_id      TEXT PRIMARY KEY REFERENCES classes (id),
	class_profile TEXT NOT NULL,
	profiles      TEXT NOT NULL
);
