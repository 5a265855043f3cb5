-- Labs and their mail, for replicas that share one database (--store
-- postgres://); the embedded database has the tables too, unused, so
-- both run one set of migrations. A lab is its JSON record (lab.Record);
-- a message its JSON (mailbox.Message) and its raw bytes apart.
CREATE TABLE labs (
	id         TEXT PRIMARY KEY,
	client     TEXT NOT NULL DEFAULT '', -- the creator's address ('' in a class)
	record     TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX labs_client ON labs (client, expires_at);

CREATE TABLE messages (
	id   TEXT PRIMARY KEY,
	lab  TEXT NOT NULL,
	seq  BIGINT NOT NULL,
	held BIGINT NOT NULL,
	meta TEXT NOT NULL,
	raw  BYTEA NOT NULL
);
CREATE INDEX messages_lab ON messages (lab, seq);

-- mailboxes counts each lab's evictions, which its messages told.
CREATE TABLE mailboxes (
	lab     TEXT PRIMARY KEY,
	evicted BIGINT NOT NULL DEFAULT 0
);
