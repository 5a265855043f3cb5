-- Classes, their students and the students' progress events. Plain SQL
-- that SQLite and PostgreSQL both run: TEXT ids, BIGINT times in Unix
-- milliseconds, INTEGER flags, no AUTOINCREMENT or SERIAL.
CREATE TABLE classes (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	code          TEXT NOT NULL UNIQUE,
	created_at    BIGINT NOT NULL,
	capacity      INTEGER NOT NULL,
	locked        INTEGER NOT NULL DEFAULT 0,
	ended_at      BIGINT NOT NULL DEFAULT 0,
	profile       TEXT NOT NULL DEFAULT '',
	lesson        TEXT NOT NULL DEFAULT '',
	stuck_fails   INTEGER NOT NULL DEFAULT 3,
	stuck_minutes INTEGER NOT NULL DEFAULT 5
);

CREATE TABLE students (
	id         TEXT PRIMARY KEY,
	class_id   TEXT NOT NULL REFERENCES classes (id),
	name       TEXT NOT NULL,
	token_hash TEXT NOT NULL UNIQUE,
	joined_at  BIGINT NOT NULL,
	lab_id     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX students_class ON students (class_id);

-- progress keeps every record a student's page posts, in order (seq is
-- the student's own counter, given by the server).
CREATE TABLE progress (
	student_id TEXT NOT NULL REFERENCES students (id),
	seq        BIGINT NOT NULL,
	at         BIGINT NOT NULL,
	kind       TEXT NOT NULL,
	lesson     TEXT NOT NULL DEFAULT '',
	step       INTEGER NOT NULL DEFAULT 0,
	total      INTEGER NOT NULL DEFAULT 0,
	state      TEXT NOT NULL DEFAULT '',
	who        TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (student_id, seq)
);
