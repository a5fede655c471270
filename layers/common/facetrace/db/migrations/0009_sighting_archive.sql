-- Issue #14, item 8: the sighting archive. Each row names one immutable segment of sighting embeddings in the
-- bucket (archive/<model>/<first>-<last>.npz) that retro-search fans out over; the faces table stays the record.
-- depends: 0008_footage

CREATE TABLE archive_segments (
    s3_key VARCHAR(300) NOT NULL PRIMARY KEY,
    model_name VARCHAR(100) NOT NULL,
    first_face_id BIGINT NOT NULL,
    last_face_id BIGINT NOT NULL,
    oldest_arrival DATETIME(6) NOT NULL,
    newest_arrival DATETIME(6) NOT NULL,
    faces INT NOT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    KEY ix_archive_model_last (model_name, last_face_id),
    KEY ix_archive_newest (newest_arrival)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
